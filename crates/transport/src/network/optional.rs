//! The networks of the optional transport crates, registered when this crate's feature of the
//! same name is on.

use super::registry::Entry;
use std::collections::BTreeMap;

#[allow(unused_variables, clippy::ptr_arg)]
pub(super) fn register_compiled(table: &mut BTreeMap<String, Entry>) {}
