//! Dates and times as backfill requests write them: window bounds as the model's backfill vars
//! take them (`YYYY-MM-DD[( |T)HH:MM[:SS[.ffffff]]]`, checked against the calendar, as
//! `dbt_incr_check_backfill_vars` checks them in dbt), and the UTC clock for request dates and run
//! records.

use std::cmp::Ordering;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::calendar::{date_text, days_from_civil, days_in_month};

/// A window bound: days since 1970-01-01 and microseconds into the day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Bound {
    pub days: i64,
    pub micros: i64,
}

impl Bound {
    /// Parses a bound; `Err` says what is wrong.
    pub fn parse(text: &str) -> Result<Bound, String> {
        let text = text.trim();
        let b = text.as_bytes();
        let shape = "a date or timestamp like 2024-01-01 or 2024-01-01 06:00:00";
        let digits = |r: std::ops::Range<usize>| -> Option<i64> { text.get(r).filter(|s| s.bytes().all(|c| c.is_ascii_digit())).and_then(|s| s.parse().ok()) };
        if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
            return Err(format!("`{text}` is not {shape}"));
        }
        let (Some(y), Some(m), Some(d)) = (digits(0..4), digits(5..7), digits(8..10)) else { return Err(format!("`{text}` is not {shape}")) };
        if !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
            return Err(format!("`{text}` is not a calendar date"));
        }
        let mut micros = 0;
        if b.len() > 10 {
            if !(b[10] == b' ' || b[10] == b'T') || b.len() < 16 || b[13] != b':' {
                return Err(format!("`{text}` is not {shape}"));
            }
            let (Some(h), Some(min)) = (digits(11..13), digits(14..16)) else { return Err(format!("`{text}` is not {shape}")) };
            let mut s = 0;
            if b.len() > 16 {
                if b[16] != b':' || b.len() < 19 {
                    return Err(format!("`{text}` is not {shape}"));
                }
                s = digits(17..19).ok_or_else(|| format!("`{text}` is not {shape}"))?;
                if b.len() > 19 {
                    let fraction = text.get(20..).unwrap_or("");
                    if b[19] != b'.' || fraction.is_empty() || fraction.len() > 6 || !fraction.bytes().all(|c| c.is_ascii_digit()) {
                        return Err(format!("`{text}` is not {shape}"));
                    }
                    micros = fraction.parse::<i64>().unwrap_or(0) * 10_i64.pow(6 - fraction.len() as u32);
                }
            }
            if h > 23 || min > 59 || s > 59 {
                return Err(format!("`{text}` is not a time of day"));
            }
            micros += ((h * 60 + min) * 60 + s) * 1_000_000;
        }
        Ok(Bound { days: days_from_civil(y, m, d), micros })
    }

    /// The date part, `YYYY-MM-DD`.
    pub fn date(self) -> String {
        date_text(self.days)
    }
}

/// Compares two bound texts (unparsable ones compare as equal).
pub fn compare(a: &str, b: &str) -> Ordering {
    match (Bound::parse(a), Bound::parse(b)) {
        (Ok(a), Ok(b)) => a.cmp(&b),
        _ => Ordering::Equal,
    }
}

/// Seconds since the Unix epoch, now.
pub fn now_seconds() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

/// Today's date in UTC, `YYYY-MM-DD`.
pub fn today() -> String {
    date_text(now_seconds().div_euclid(86_400))
}

/// An instant as `YYYY-MM-DDTHH:MM:SSZ` (UTC).
pub fn instant_text(seconds: i64) -> String {
    let s = seconds.rem_euclid(86_400);
    format!("{}T{:02}:{:02}:{:02}Z", date_text(seconds.div_euclid(86_400)), s / 3600, s / 60 % 60, s % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds() {
        assert_eq!(Bound::parse("1970-01-02").unwrap(), Bound { days: 1, micros: 0 });
        assert_eq!(Bound::parse("2024-01-01T06:00").unwrap().micros, 6 * 3600 * 1_000_000);
        assert_eq!(Bound::parse("2024-01-01 00:00:00.5").unwrap().micros, 500_000);
        for bad in ["2024-02-30", "2024-13-01", "2024-1-01", "2024-01-01 24:00", "2024-01-01 6:00", "yesterday", "2024-01-01x", "2024-01-01 06:00:00.", "2024-01-01 06:00:00.1234567"] {
            assert!(Bound::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(compare("2024-01-01", "2024-01-01 00:00"), Ordering::Equal);
        assert_eq!(compare("2024-01-01", "2024-01-01T00:01"), Ordering::Less);
        assert_eq!(date_text(days_from_civil(2024, 2, 29)), "2024-02-29");
        assert_eq!(date_text(0), "1970-01-01");
        assert_eq!(instant_text(86_400 + 3661), "1970-01-02T01:01:01Z");
    }
}
