// main.rs - a WAGI function: CGI headers on stdout, a blank line, then the body.

/// The argument of the host import kernless.svc (kernless/sdk.h, struct kl_svc_wasm).
#[repr(C)]
#[derive(Default)]
struct SvcCall {
    version: u32, op: u32, err: u32, status: u32,
    a: u32, a_len: u32, b: u32, b_len: u32, c: u32, c_len: u32, d: u32, d_len: u32,
    out: u32, out_cap: u32, offset: u32, result_len: u32, copied: u32, hdr_len: u32,
    reason: u32, reason_cap: u32,
}

#[link(wasm_import_module = "kernless")]
extern "C" {
    fn svc(arg: *mut SvcCall) -> u32;
}

/// A variable declared in kernless.toml (`variables`), or None when it is not.
fn variable(name: &str) -> Option<String> {
    let mut buf = vec![0u8; 4096];
    let mut c = SvcCall { version: 1, op: 7, ..Default::default() };
    c.a = name.as_ptr() as u32;
    c.a_len = name.len() as u32;
    c.out = buf.as_mut_ptr() as u32;
    c.out_cap = buf.len() as u32;
    if unsafe { svc(&mut c) } != 0 {
        return None;
    }
    buf.truncate(c.copied as usize);
    String::from_utf8(buf).ok()
}

fn main() {
    let greeting = variable("greeting").unwrap_or_else(|| "Hello".to_string());
    print!("Content-Type: text/plain\n\n");
    println!("{} from Rust!", greeting);
}
