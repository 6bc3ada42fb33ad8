//! Reading a Prometheus text page in tests.

/// The value of the sample named `name` (exactly: `name_sum` is another sample) whose labels
/// contain every `labels` pair; comment lines are skipped.
pub fn prometheus_sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with(['{', ' ']))
        .find(|l| {
            labels
                .iter()
                .all(|(k, v)| l.contains(&format!("{k}=\"{v}\"")))
        })
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_sample_by_exact_name_and_labels() {
        let page = "# TYPE m counter\nm{a=\"1\",b=\"2\"} 3\nm_sum{a=\"1\"} 9\nm{a=\"2\"} 4\n";
        assert_eq!(prometheus_sample(page, "m", &[("b", "2")]), Some(3.0));
        assert_eq!(prometheus_sample(page, "m", &[("a", "2")]), Some(4.0));
        assert_eq!(prometheus_sample(page, "m_sum", &[]), Some(9.0));
        assert_eq!(prometheus_sample(page, "m", &[("a", "3")]), None);
    }
}
