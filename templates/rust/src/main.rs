// main.rs - a WAGI function: CGI headers on stdout, a blank line, then the body.
fn main() {
    print!("Content-Type: text/plain\n\n");
    println!("Hello from Rust!");
}
