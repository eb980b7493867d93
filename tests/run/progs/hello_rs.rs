// hello_rs.rs - Rust std on wasm32-wasi: hello line, the arguments, one env var, and an exit status from argv.
use std::env;
use std::process;

fn main() {
    println!("hello from rust");
    // Skip argv[0]: its value is the runtime's choice.
    let args: Vec<String> = env::args().skip(1).collect();
    println!("args: {:?}", args);
    match env::var("GREETING") {
        Ok(v) => println!("GREETING={}", v),
        Err(_) => println!("GREETING unset"),
    }
    // Exercise the allocator and formatting a little so more of std is linked in.
    let v: Vec<u64> = (1..=1000).collect();
    println!("sum: {}", v.iter().sum::<u64>());
    if let Some(code) = args.iter().find_map(|a| a.strip_prefix("exit=")) {
        process::exit(code.parse().unwrap_or(99));
    }
}
