// panic_rs.rs - a Rust panic: std prints the message, then aborts, which on wasm32-wasi is an `unreachable` trap.
fn main() {
    println!("about to panic");
    let v: Vec<i32> = Vec::new();
    // A runtime-dependent condition so the panic path is not folded away.
    if std::env::args().count() < 100 {
        panic!("boom: {} items", v.len());
    }
}
