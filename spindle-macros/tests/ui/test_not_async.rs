#[spindle::test]
fn synchronous_test() {}

fn main() {}
