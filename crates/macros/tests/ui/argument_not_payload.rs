struct Echo;

struct NotSerde;

#[fastrpc::service]
impl Echo {
    async fn echo(&self, _value: NotSerde) -> u32 {
        1
    }
}

fn main() {}
