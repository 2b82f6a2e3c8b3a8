#[spindle::main(worker_threads = 0)]
async fn main() {}

#[spindle::test(compute_threads = 0)]
async fn zero_compute_threads() {}

#[spindle::test(worker_threads = "4")]
async fn a_string() {}

#[spindle::test(worker_threads = -1)]
async fn negative() {}

#[spindle::test(compute_threads = 4u8)]
async fn suffixed() {}

#[spindle::test(worker_threads)]
async fn missing_value() {}

#[spindle::test(worker_threads = 1, worker_threads = 2)]
async fn set_twice() {}

#[spindle::test(crate = 3)]
async fn crate_not_a_path_or_string() {}

#[spindle::test(crate = "not a path")]
async fn crate_not_a_path() {}
