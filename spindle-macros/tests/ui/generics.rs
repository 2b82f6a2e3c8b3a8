#[spindle::test]
async fn generic_test<T: Default>() {
    let _ = T::default();
}

#[spindle::main]
async fn with_where_clause() -> u32
where
    u32: Copy,
{
    1
}

fn main() {}
