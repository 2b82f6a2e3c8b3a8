#[spindle::test]
async fn takes_an_argument(port: u16) {
    let _ = port;
}

fn main() {}
