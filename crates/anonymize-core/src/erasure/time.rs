//! RFC 3339 timestamps in UTC, for receipts.

use std::time::{SystemTime, UNIX_EPOCH};

/// `t` as RFC 3339 in UTC to the millisecond, e.g. `2026-05-09T10:15:02.123Z`. A time before
/// 1970 (a clock set wrong) is written as the epoch.
pub(crate) fn rfc3339(t: SystemTime) -> String {
    let since = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60,
        since.subsec_millis()
    )
}

/// The proleptic Gregorian date `days` after 1970-01-01 (Howard Hinnant's `civil_from_days`,
/// for days since the epoch, which are never negative here).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097; // day of the era, 0..=146096
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // year of the era, 0..=399
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // day of the year from March 1st
    let mp = (5 * doy + 2) / 153; // month from March, 0..=11
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Checked against Python's `datetime.fromtimestamp(t, timezone.utc)`.
    #[test]
    fn known_instants() {
        let cases = [
            (0, "1970-01-01T00:00:00.000Z"),
            (68_169_600, "1972-02-29T00:00:00.000Z"),
            (951_782_400, "2000-02-29T00:00:00.000Z"),
            (951_868_799, "2000-02-29T23:59:59.000Z"),
            (1_709_208_000, "2024-02-29T12:00:00.000Z"),
            (4_102_444_800, "2100-01-01T00:00:00.000Z"),
            (253_402_300_799, "9999-12-31T23:59:59.000Z"),
        ];
        for (secs, expected) in cases {
            assert_eq!(rfc3339(UNIX_EPOCH + Duration::from_secs(secs)), expected);
        }
        let t = UNIX_EPOCH + Duration::from_millis(1_778_321_702_123);
        assert_eq!(rfc3339(t), "2026-05-09T10:15:02.123Z");
        assert_eq!(
            rfc3339(UNIX_EPOCH - Duration::from_secs(1)),
            "1970-01-01T00:00:00.000Z"
        );
    }

    /// Every day for 1,000 years follows the one before: no gap, no repeat.
    #[test]
    fn days_follow_each_other() {
        let mut previous = civil_from_days(0);
        for days in 1..366_000 {
            let next = civil_from_days(days);
            let (y, m, d) = previous;
            let follows = next == (y, m, d + 1)
                || (next.2 == 1 && (next == (y, m + 1, 1) || next == (y + 1, 1, 1)));
            assert!(follows, "{previous:?} then {next:?}");
            assert!((1..=12).contains(&next.1) && (1..=31).contains(&next.2));
            previous = next;
        }
    }
}
