#[spindle::main]
struct Config {
    workers: usize,
}

#[spindle::test]
mod tests {}

fn main() {
    let _ = Config { workers: 1 };
}
