//! Message metadata: string keys and values, Go's `map[string]string`.

use crate::ByteStr;

/// The metadata of a message: string pairs with unique keys.
///
/// Kept as a small vector because real messages carry zero to a few keys; inserting a key
/// that exists replaces its value (on decode, the last duplicate wins, as in Go). Order is
/// insertion order, which makes single-key frames re-encode byte for byte; peers must not rely
/// on order (Go writes map order, which is random).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Metadata {
    pairs: Vec<(ByteStr, ByteStr)>,
}

impl Metadata {
    /// Empty metadata; allocates nothing.
    pub const fn new() -> Metadata {
        Metadata { pairs: Vec::new() }
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// True with no keys.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k.as_str() == key)
            .map(|(_, v)| v.as_str())
    }

    /// True when `key` is present.
    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Sets `key` to `value`, replacing an existing value; returns the old one.
    pub fn insert(
        &mut self,
        key: impl Into<ByteStr>,
        value: impl Into<ByteStr>,
    ) -> Option<ByteStr> {
        let key = key.into();
        let value = value.into();
        match self.pairs.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => Some(std::mem::replace(v, value)),
            None => {
                self.pairs.push((key, value));
                None
            }
        }
    }

    /// Sets `key` only when it is absent (how Go merges handler metadata into a reply, so a
    /// handler can never overwrite `__rpcx_error__`). Returns true when inserted.
    pub fn insert_if_absent(&mut self, key: impl Into<ByteStr>, value: impl Into<ByteStr>) -> bool {
        let key = key.into();
        if self.pairs.iter().any(|(k, _)| *k == key) {
            return false;
        }
        self.pairs.push((key, value.into()));
        true
    }

    /// Removes `key`, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<ByteStr> {
        let i = self.pairs.iter().position(|(k, _)| k.as_str() == key)?;
        Some(self.pairs.remove(i).1)
    }

    /// Iterates over `(key, value)` pairs.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Removes every key.
    pub fn clear(&mut self) {
        self.pairs.clear();
    }

    /// Bytes this metadata takes in a frame's metadata block.
    pub fn encoded_len(&self) -> usize {
        self.pairs.iter().map(|(k, v)| 8 + k.len() + v.len()).sum()
    }

    /// Appends a decoded pair; the caller dedups afterwards with [`Metadata::dedup_last_wins`].
    pub(crate) fn push_decoded(&mut self, key: ByteStr, value: ByteStr) {
        self.pairs.push((key, value));
    }

    /// Keeps only the last value of every duplicated key, at the position of its first use.
    pub(crate) fn dedup_last_wins(&mut self) {
        if self.pairs.len() < 2 {
            return;
        }
        let mut seen: std::collections::HashMap<ByteStr, usize> =
            std::collections::HashMap::with_capacity(self.pairs.len());
        let mut out: Vec<(ByteStr, ByteStr)> = Vec::with_capacity(self.pairs.len());
        for (k, v) in self.pairs.drain(..) {
            match seen.get(&k) {
                Some(&i) => out[i].1 = v,
                None => {
                    seen.insert(k.clone(), out.len());
                    out.push((k, v));
                }
            }
        }
        self.pairs = out;
    }

    pub(crate) fn raw_pairs(&self) -> &[(ByteStr, ByteStr)] {
        &self.pairs
    }
}

impl std::fmt::Debug for Metadata {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<K: Into<ByteStr>, V: Into<ByteStr>> FromIterator<(K, V)> for Metadata {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Metadata {
        let mut m = Metadata::new();
        for (k, v) in iter {
            m.insert(k, v);
        }
        m
    }
}

impl<K: Into<ByteStr>, V: Into<ByteStr>> Extend<(K, V)> for Metadata {
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, iter: I) {
        for (k, v) in iter {
            self.insert(k, v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_replaces_and_if_absent_keeps() {
        let mut m = Metadata::new();
        assert!(m.insert("a", "1").is_none());
        assert_eq!(m.insert("a", "2").unwrap(), "1");
        assert!(!m.insert_if_absent("a", "3"));
        assert_eq!(m.get("a"), Some("2"));
        assert_eq!(m.len(), 1);
        assert_eq!(m.remove("a").unwrap(), "2");
        assert!(m.is_empty());
    }

    #[test]
    fn dedup_keeps_last_value() {
        let mut m = Metadata::new();
        m.push_decoded("k".into(), "1".into());
        m.push_decoded("j".into(), "x".into());
        m.push_decoded("k".into(), "2".into());
        m.dedup_last_wins();
        assert_eq!(m.iter().collect::<Vec<_>>(), vec![("k", "2"), ("j", "x")]);
    }
}
