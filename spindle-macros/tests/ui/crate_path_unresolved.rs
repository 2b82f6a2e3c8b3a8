// `crate = "..."` naming something that does not exist: the error points at the string.

#[spindle::main(crate = "spindel")]
async fn main() {}
