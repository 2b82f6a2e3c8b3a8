#[spindle::main]
fn main() {}
