#[spindle::main(worker_threads = 2, max_threads = 4)]
async fn main() {}

#[spindle::test(flavor = "current_thread")]
async fn tokio_style() {}

#[spindle::test(4)]
async fn not_an_option() {}
