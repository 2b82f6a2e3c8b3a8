// Type errors in the body are reported on the user's tokens, against the declared return type.

#[spindle::main]
async fn main() -> Result<(), String> {
    let parsed: u32 = "1".parse().map_err(|_| "not a number".to_string())?;
    if parsed > 10 {
        return Ok(parsed);
    }
    Ok(())
}

#[spindle::main(worker_threads = 1)]
async fn tail_of_the_wrong_type() -> std::io::Result<()> {
    42
}
