// echo.rs - a WAGI function in Rust that echoes method, path, query, headers and body.
use std::env;
use std::io::{self, Read, Write};

fn var(name: &str) -> String {
    env::var(name).unwrap_or_default()
}

fn main() {
    let mut body = Vec::new();
    io::stdin().read_to_end(&mut body).expect("read stdin");
    let mut out = io::stdout();
    let mut s = String::new();
    s.push_str("Content-Type: text/plain; charset=utf-8\n");
    s.push_str("X-Echo-Function: rust\n\n");
    s.push_str(&format!("method: {}\n", var("REQUEST_METHOD")));
    s.push_str(&format!("path: {}\n", var("PATH_INFO")));
    s.push_str(&format!("route: {}\n", var("X_MATCHED_ROUTE")));
    s.push_str(&format!("query: {}\n", var("QUERY_STRING")));
    for (i, a) in env::args().enumerate() {
        s.push_str(&format!("argv[{}]: {}\n", i, a));
    }
    let mut headers: Vec<(String, String)> =
        env::vars().filter(|(k, _)| k.starts_with("HTTP_")).collect();
    headers.sort();
    for (k, v) in headers {
        s.push_str(&format!("env: {}={}\n", k, v));
    }
    s.push_str("body: ");
    out.write_all(s.as_bytes()).expect("write");
    out.write_all(&body).expect("write");
    out.write_all(format!("\nbody_bytes: {}\n", body.len()).as_bytes()).expect("write");
    eprintln!("rust echo: {} bytes", body.len());
}
