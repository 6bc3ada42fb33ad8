struct Arith;

trait Named {
    fn name(&self) -> String;
}

#[fastrpc::service]
impl Named for Arith {
    fn name(&self) -> String {
        "Arith".into()
    }
}

fn main() {}
