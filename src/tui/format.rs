//! Text formatting shared by `update` (status messages) and `view`.

/// Thousands separators: 120000 -> "120,000".
pub use crate::text::thousands as num;

/// An RFC 3339 time in the given zone, in full: "2025-01-02 05:04:05"
/// (the text as stored when it does not parse).
pub fn local_time(ts: &str, offset: time::UtcOffset) -> String {
    use time::format_description::well_known::Rfc3339;
    match time::OffsetDateTime::parse(ts, &Rfc3339) {
        Ok(t) => {
            let t = t.to_offset(offset);
            format!(
                "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            )
        }
        Err(_) => ts.to_string(),
    }
}
