//! Thrift structs as `thrift --gen rs` (0.23) writes them, for the tests.
//!
//! ```thrift
//! struct Args  { 1: required i64 A, 2: required i64 B }   // rpcx's Arith arguments
//! struct Reply { 1: required i64 C }
//! struct Inner { 1: required i32 id, 2: required string name }
//! struct Everything {
//!    1: required bool flag,       2: required i32 count,     3: required i64 big,
//!    4: required double ratio,    5: required string name,   6: required binary data,
//!    7: required list<i32> numbers,   8: required map<string, i64> scores,
//!    9: required Inner inner,    10: optional string note,  11: optional i64 maybe,
//! }
//! ```
#![allow(dead_code, unreachable_pub)] // each test file uses a part

use fastrpc_codec::thrift_runtime as rt;
use rt::protocol::{
    TFieldIdentifier, TInputProtocol, TListIdentifier, TMapIdentifier, TOutputProtocol,
    TSerializable, TStructIdentifier, TType, field_id, verify_required_field_exists,
};
use std::collections::BTreeMap;

/// Writes one field: header, value, end.
fn field<F>(o: &mut dyn TOutputProtocol, name: &str, t: TType, id: i16, f: F) -> rt::Result<()>
where
    F: FnOnce(&mut dyn TOutputProtocol) -> rt::Result<()>,
{
    o.write_field_begin(&TFieldIdentifier::new(name, t, id))?;
    f(o)?;
    o.write_field_end()
}

/// Reads a struct's fields with `each(protocol, type, id)`; `each` returns false to skip.
fn read_fields<F>(i: &mut dyn TInputProtocol, mut each: F) -> rt::Result<()>
where
    F: FnMut(&mut dyn TInputProtocol, TType, i16) -> rt::Result<bool>,
{
    i.read_struct_begin()?;
    loop {
        let ident = i.read_field_begin()?;
        if ident.field_type == TType::Stop {
            break;
        }
        let id = field_id(&ident)?;
        if !each(i, ident.field_type, id)? {
            i.skip(ident.field_type)?;
        }
        i.read_field_end()?;
    }
    i.read_struct_end()
}

/// rpcx's `Arith` arguments.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Args {
    pub a: i64,
    pub b: i64,
}

impl TSerializable for Args {
    fn read_from_in_protocol(i: &mut dyn TInputProtocol) -> rt::Result<Args> {
        let (mut a, mut b) = (None, None);
        read_fields(i, |i, t, id| {
            match (id, t) {
                (1, TType::I64) => a = Some(i.read_i64()?),
                (2, TType::I64) => b = Some(i.read_i64()?),
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        verify_required_field_exists("Args.A", &a)?;
        verify_required_field_exists("Args.B", &b)?;
        Ok(Args {
            a: a.unwrap_or_default(),
            b: b.unwrap_or_default(),
        })
    }

    fn write_to_out_protocol(&self, o: &mut dyn TOutputProtocol) -> rt::Result<()> {
        o.write_struct_begin(&TStructIdentifier::new("Args"))?;
        field(o, "A", TType::I64, 1, |o| o.write_i64(self.a))?;
        field(o, "B", TType::I64, 2, |o| o.write_i64(self.b))?;
        o.write_field_stop()?;
        o.write_struct_end()
    }
}

/// rpcx's `Arith` reply.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Reply {
    pub c: i64,
}

impl TSerializable for Reply {
    fn read_from_in_protocol(i: &mut dyn TInputProtocol) -> rt::Result<Reply> {
        let mut c = None;
        read_fields(i, |i, t, id| {
            if (id, t) != (1, TType::I64) {
                return Ok(false);
            }
            c = Some(i.read_i64()?);
            Ok(true)
        })?;
        verify_required_field_exists("Reply.C", &c)?;
        Ok(Reply {
            c: c.unwrap_or_default(),
        })
    }

    fn write_to_out_protocol(&self, o: &mut dyn TOutputProtocol) -> rt::Result<()> {
        o.write_struct_begin(&TStructIdentifier::new("Reply"))?;
        field(o, "C", TType::I64, 1, |o| o.write_i64(self.c))?;
        o.write_field_stop()?;
        o.write_struct_end()
    }
}

/// A nested struct.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Inner {
    pub id: i32,
    pub name: String,
}

impl TSerializable for Inner {
    fn read_from_in_protocol(i: &mut dyn TInputProtocol) -> rt::Result<Inner> {
        let mut v = Inner::default();
        read_fields(i, |i, t, id| {
            match (id, t) {
                (1, TType::I32) => v.id = i.read_i32()?,
                (2, TType::String) => v.name = i.read_string()?,
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(v)
    }

    fn write_to_out_protocol(&self, o: &mut dyn TOutputProtocol) -> rt::Result<()> {
        o.write_struct_begin(&TStructIdentifier::new("Inner"))?;
        field(o, "id", TType::I32, 1, |o| o.write_i32(self.id))?;
        field(o, "name", TType::String, 2, |o| o.write_string(&self.name))?;
        o.write_field_stop()?;
        o.write_struct_end()
    }
}

/// Every field type rpcx users meet.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Everything {
    pub flag: bool,
    pub count: i32,
    pub big: i64,
    pub ratio: f64,
    pub name: String,
    pub data: Vec<u8>,
    pub numbers: Vec<i32>,
    pub scores: BTreeMap<String, i64>,
    pub inner: Inner,
    pub note: Option<String>,
    pub maybe: Option<i64>,
}

impl Everything {
    fn read_field(&mut self, i: &mut dyn TInputProtocol, t: TType, id: i16) -> rt::Result<bool> {
        match (id, t) {
            (1, TType::Bool) => self.flag = i.read_bool()?,
            (2, TType::I32) => self.count = i.read_i32()?,
            (3, TType::I64) => self.big = i.read_i64()?,
            (4, TType::Double) => self.ratio = i.read_double()?,
            (5, TType::String) => self.name = i.read_string()?,
            (6, TType::String) => self.data = i.read_bytes()?,
            (7, TType::List) => {
                let list = i.read_list_begin()?;
                // as 0.23's generator writes it; the protocol has held the count to the payload
                let mut v = Vec::with_capacity(usize::try_from(list.size).unwrap_or(0));
                for _ in 0..list.size {
                    v.push(i.read_i32()?);
                }
                i.read_list_end()?;
                self.numbers = v;
            }
            (8, TType::Map) => {
                let map = i.read_map_begin()?;
                let mut m = BTreeMap::new();
                for _ in 0..map.size {
                    let k = i.read_string()?;
                    m.insert(k, i.read_i64()?);
                }
                i.read_map_end()?;
                self.scores = m;
            }
            (9, TType::Struct) => self.inner = Inner::read_from_in_protocol(i)?,
            (10, TType::String) => self.note = Some(i.read_string()?),
            (11, TType::I64) => self.maybe = Some(i.read_i64()?),
            _ => return Ok(false),
        }
        Ok(true)
    }
}

impl TSerializable for Everything {
    fn read_from_in_protocol(i: &mut dyn TInputProtocol) -> rt::Result<Everything> {
        let mut v = Everything::default();
        read_fields(i, |i, t, id| v.read_field(i, t, id))?;
        Ok(v)
    }

    fn write_to_out_protocol(&self, o: &mut dyn TOutputProtocol) -> rt::Result<()> {
        o.write_struct_begin(&TStructIdentifier::new("Everything"))?;
        field(o, "flag", TType::Bool, 1, |o| o.write_bool(self.flag))?;
        field(o, "count", TType::I32, 2, |o| o.write_i32(self.count))?;
        field(o, "big", TType::I64, 3, |o| o.write_i64(self.big))?;
        field(o, "ratio", TType::Double, 4, |o| o.write_double(self.ratio))?;
        field(o, "name", TType::String, 5, |o| o.write_string(&self.name))?;
        field(o, "data", TType::String, 6, |o| o.write_bytes(&self.data))?;
        field(o, "numbers", TType::List, 7, |o| {
            let n = i32::try_from(self.numbers.len()).expect("list fits i32");
            o.write_list_begin(&TListIdentifier::new(TType::I32, n))?;
            for x in &self.numbers {
                o.write_i32(*x)?;
            }
            o.write_list_end()
        })?;
        field(o, "scores", TType::Map, 8, |o| {
            let n = i32::try_from(self.scores.len()).expect("map fits i32");
            o.write_map_begin(&TMapIdentifier::new(TType::String, TType::I64, n))?;
            for (k, v) in &self.scores {
                o.write_string(k)?;
                o.write_i64(*v)?;
            }
            o.write_map_end()
        })?;
        field(o, "inner", TType::Struct, 9, |o| {
            self.inner.write_to_out_protocol(o)
        })?;
        if let Some(note) = &self.note {
            field(o, "note", TType::String, 10, |o| o.write_string(note))?;
        }
        if let Some(maybe) = self.maybe {
            field(o, "maybe", TType::I64, 11, |o| o.write_i64(maybe))?;
        }
        o.write_field_stop()?;
        o.write_struct_end()
    }
}
