//! When a schedule fires: a five-field cron rule read in a time zone, or a
//! fixed interval.
//!
//! Pure: it answers instants for instants and never reads the clock, so the
//! engine's schedule loop, `schedule add` (to say the first fire) and the
//! tests all get the same answer. Cron times are wall-clock times in the
//! schedule's zone, as in classic cron: a time skipped by a daylight-saving
//! jump fires once, right after the jump, and a time that happens twice
//! fires once, at the earlier.

use std::cmp::Ordering;

use croner::parser::{CronParser, Seconds};
use croner::{CivilDate, CivilDateTime, CivilTime, Cron, CronDateTime, Resolution, Weekday};
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{SignedDuration, Timestamp, ZonedDateTime};

use crate::model::Catchup;

/// A fire more than this late counts as missed, which `catchup: none` skips.
const ON_TIME: SignedDuration = SignedDuration::from_secs(60);

/// At most this many missed fires are started by `catchup: all`.
pub const MAX_CATCHUP: usize = 100;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum RuleError {
    #[error("the cron expression {expr:?} does not parse: {reason}")]
    Cron { expr: String, reason: String },
    #[error("the time zone {zone:?} is not known (use an IANA name such as Europe/Berlin)")]
    Zone { zone: String },
    #[error("the interval {text:?} is not one (write a whole number and a unit: 30s, 5m, 2h, 1d)")]
    Every { text: String },
    #[error("an interval of zero would fire without end: give at least 1s")]
    EveryZero,
    #[error("a schedule has either a cron rule or an interval, not both")]
    Both,
    #[error("a schedule needs a rule: --cron \"EXPR\" or --every DURATION")]
    Neither,
    #[error("a time zone belongs to a cron rule; an interval runs on elapsed time")]
    ZoneWithoutCron,
}

/// A schedule's rule, parsed once.
#[derive(Debug, Clone)]
pub enum Rule {
    Cron { cron: Box<Cron>, tz: TimeZone },
    Every { seconds: u64 },
}

impl Rule {
    /// Reads a schedule's stored rule: `cron` (with `tz`, UTC when none) or
    /// `every_s`.
    pub fn new(
        cron: Option<&str>,
        tz: Option<&str>,
        every_s: Option<u64>,
    ) -> Result<Rule, RuleError> {
        match (cron, every_s) {
            (Some(_), Some(_)) => Err(RuleError::Both),
            (None, None) => Err(RuleError::Neither),
            (None, Some(_)) if tz.is_some() => Err(RuleError::ZoneWithoutCron),
            (None, Some(0)) => Err(RuleError::EveryZero),
            (None, Some(seconds)) => Ok(Rule::Every { seconds }),
            (Some(expr), None) => {
                let tz = match tz {
                    Some(zone) => TimeZone::get(zone).map_err(|_| RuleError::Zone {
                        zone: zone.to_owned(),
                    })?,
                    None => TimeZone::UTC,
                };
                let cron = parse_cron(expr)?;
                Ok(Rule::Cron {
                    cron: Box::new(cron),
                    tz,
                })
            }
        }
    }

    /// The first fire strictly after `after`; none when the rule never fires
    /// again (a cron date that cannot happen, or past year 9999).
    pub fn next_after(&self, after: Timestamp) -> Option<Timestamp> {
        match self {
            Rule::Every { seconds } => after
                .checked_add(SignedDuration::from_secs(i64::try_from(*seconds).ok()?))
                .ok(),
            Rule::Cron { cron, tz } => {
                let start = Zoned(after.to_zoned_datetime(tz.clone()));
                cron.find_next_occurrence(&start, false)
                    .ok()
                    .map(|z| z.0.timestamp())
            }
        }
    }

    /// The last fire at or before `t`; an interval counts from `anchor`,
    /// one of its fires.
    fn last_at_or_before(&self, anchor: Timestamp, t: Timestamp) -> Option<Timestamp> {
        match self {
            Rule::Every { seconds } => {
                let every = i64::try_from(*seconds).ok()?;
                let since = t.as_second().checked_sub(anchor.as_second())?;
                let steps = since.div_euclid(every);
                anchor
                    .checked_add(SignedDuration::from_secs(steps.checked_mul(every)?))
                    .ok()
            }
            Rule::Cron { cron, tz } => cron
                .find_previous_occurrence(&Zoned(t.to_zoned_datetime(tz.clone())), true)
                .ok()
                .map(|z| z.0.timestamp()),
        }
    }

    /// The last fire strictly before `t`.
    fn last_before(&self, anchor: Timestamp, t: Timestamp) -> Option<Timestamp> {
        let just_before = t.checked_sub(SignedDuration::from_secs(1)).ok()?;
        self.last_at_or_before(anchor, just_before)
    }
}

/// Parses five-field cron and the `@hourly`-style names; six fields (with
/// seconds) are refused, since a schedule fires at most once a minute.
fn parse_cron(expr: &str) -> Result<Cron, RuleError> {
    let bad = |reason: String| RuleError::Cron {
        expr: expr.to_owned(),
        reason,
    };
    let fields = expr.split_whitespace().count();
    if !expr.trim_start().starts_with('@') && fields != 5 {
        return Err(bad(format!(
            "it has {fields} fields; write five: minute hour day-of-month month day-of-week"
        )));
    }
    CronParser::builder()
        .seconds(Seconds::Disallowed)
        .build()
        .parse(expr)
        .map_err(|e| bad(e.to_string()))
}

/// Reads `30s`, `5m`, `2h`, `1d` (and combinations such as `1h30m`) as
/// whole seconds.
pub fn parse_every(text: &str) -> Result<u64, RuleError> {
    let bad = || RuleError::Every {
        text: text.to_owned(),
    };
    let mut total: u64 = 0;
    let mut digits = String::new();
    for c in text.trim().chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3_600,
            'd' => 86_400,
            _ => return Err(bad()),
        };
        let n: u64 = std::mem::take(&mut digits).parse().map_err(|_| bad())?;
        total = n
            .checked_mul(unit)
            .and_then(|s| total.checked_add(s))
            .ok_or_else(bad)?;
    }
    if !digits.is_empty() || text.trim().is_empty() {
        return Err(bad());
    }
    if total == 0 {
        return Err(RuleError::EveryZero);
    }
    Ok(total)
}

/// What a schedule owes at `now`, its next fire having been planned for
/// `next`: the fire times to start plays for, oldest first, and the next
/// fire to plan. It walks back from `now`, so a long downtime costs at most
/// [`MAX_CATCHUP`] steps.
pub fn due(
    rule: &Rule,
    next: Timestamp,
    now: Timestamp,
    catchup: Catchup,
) -> (Vec<Timestamp>, Option<Timestamp>) {
    let mut missed = Vec::new();
    let mut at = rule.last_at_or_before(next, now);
    while let Some(t) = at.filter(|t| *t >= next && missed.len() < MAX_CATCHUP) {
        missed.push(t);
        at = rule.last_before(next, t);
    }
    missed.reverse();
    let Some(&latest) = missed.last() else {
        return (Vec::new(), Some(next));
    };
    let fires = match catchup {
        Catchup::All => missed,
        Catchup::Latest => vec![latest],
        Catchup::None if now.duration_since(latest) <= ON_TIME => vec![latest],
        Catchup::None => Vec::new(),
    };
    (fires, rule.next_after(latest))
}

/// jiff's zoned time, seen by croner as a wall clock in a zone.
#[derive(Clone)]
struct Zoned(ZonedDateTime);

impl CronDateTime for Zoned {
    fn to_civil(&self) -> CivilDateTime {
        let dt = self.0.datetime();
        CivilDateTime::new(
            CivilDate::from_parts_unchecked(
                i32::from(dt.year()),
                dt.month() as u32,
                dt.day() as u32,
            ),
            CivilTime::from_parts_unchecked(
                dt.hour() as u32,
                dt.minute() as u32,
                dt.second() as u32,
            ),
        )
    }

    fn civil_weekday(&self) -> Weekday {
        Weekday::from_days_from_sunday(self.0.weekday().to_sunday_zero_offset() as u32)
    }

    fn resolve_civil(
        &self,
        civil: CivilDateTime,
    ) -> Result<Resolution<Self>, croner::errors::CronError> {
        use croner::errors::CronError;
        let year = i16::try_from(civil.year()).map_err(|_| CronError::InvalidDate)?;
        let dt = jiff::civil::DateTime::new(
            year,
            civil.month() as i8,
            civil.day() as i8,
            civil.hour() as i8,
            civil.minute() as i8,
            civil.second() as i8,
            0,
        )
        .map_err(|_| CronError::InvalidDate)?;
        let ambiguous = self.0.time_zone().to_ambiguous_zoned_datetime(dt);
        Ok(match ambiguous.offset() {
            AmbiguousOffset::Unambiguous { .. } => Resolution::Single(Zoned(
                ambiguous
                    .unambiguous()
                    .map_err(|_| CronError::InvalidTime)?,
            )),
            AmbiguousOffset::Fold { .. } => Resolution::Ambiguous(
                Zoned(
                    ambiguous
                        .clone()
                        .earlier()
                        .map_err(|_| CronError::InvalidTime)?,
                ),
                Zoned(ambiguous.later().map_err(|_| CronError::InvalidTime)?),
            ),
            AmbiguousOffset::Gap { .. } => Resolution::Gap,
        })
    }

    fn checked_add_seconds(&self, seconds: i64) -> Option<Self> {
        self.0
            .checked_add(SignedDuration::from_secs(seconds))
            .ok()
            .map(Zoned)
    }

    fn cmp_instant(&self, other: &Self) -> Ordering {
        self.0.timestamp().cmp(&other.0.timestamp())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().expect("a timestamp")
    }

    fn cron(expr: &str, tz: &str) -> Rule {
        Rule::new(Some(expr), Some(tz), None).expect("a rule")
    }

    #[test]
    fn a_daily_cron_keeps_its_wall_clock_time_across_both_daylight_saving_changes() {
        let nine = cron("0 9 * * *", "Europe/Berlin");
        // CET (+01:00) before the spring change, CEST (+02:00) after it.
        assert_eq!(
            nine.next_after(at("2026-03-28T08:00:00Z")),
            Some(at("2026-03-29T07:00:00Z"))
        );
        assert_eq!(
            nine.next_after(at("2026-10-24T07:00:00Z")),
            Some(at("2026-10-25T08:00:00Z"))
        );
    }

    #[test]
    fn a_time_skipped_by_the_spring_change_fires_after_the_jump_and_a_doubled_one_fires_once() {
        let half_past_two = cron("30 2 * * *", "Europe/Berlin");
        // 02:30 does not exist on 2026-03-29: it fires at 03:00 CEST, once.
        let skipped = half_past_two
            .next_after(at("2026-03-28T01:30:00Z"))
            .expect("a fire");
        assert_eq!(skipped, at("2026-03-29T01:00:00Z"));
        assert_eq!(
            half_past_two.next_after(skipped),
            Some(at("2026-03-30T00:30:00Z"))
        );
        // 02:30 happens twice on 2026-10-25: it fires at the first only.
        let first = half_past_two
            .next_after(at("2026-10-24T00:30:00Z"))
            .expect("a fire");
        assert_eq!(first, at("2026-10-25T00:30:00Z"));
        assert_eq!(
            half_past_two.next_after(first),
            Some(at("2026-10-26T01:30:00Z"))
        );
    }

    #[test]
    fn names_and_zones_are_read_and_utc_is_the_default() {
        let hourly = Rule::new(Some("@hourly"), None, None).expect("a rule");
        assert_eq!(
            hourly.next_after(at("2026-12-04T10:15:00Z")),
            Some(at("2026-12-04T11:00:00Z"))
        );
        let weekdays = cron("0 2 * * MON-FRI", "America/New_York");
        // Friday 2026-12-04 02:00 EST has passed: next is Monday 07:00 UTC.
        assert_eq!(
            weekdays.next_after(at("2026-12-04T08:00:00Z")),
            Some(at("2026-12-07T07:00:00Z"))
        );
    }

    #[test]
    fn bad_rules_are_refused_naming_the_problem() {
        let refused = |cron: Option<&str>, tz: Option<&str>, every: Option<u64>| {
            Rule::new(cron, tz, every).expect_err("refused").to_string()
        };
        assert!(refused(Some("61 * * * *"), None, None).contains("\"61 * * * *\""));
        assert!(refused(Some("0 0 * * * *"), None, None).contains("6 fields"));
        assert!(refused(Some("0 9 * * *"), Some("Mars/Olympus"), None).contains("Mars/Olympus"));
        assert_eq!(
            Rule::new(None, None, Some(0)).unwrap_err(),
            RuleError::EveryZero
        );
        assert_eq!(
            Rule::new(Some("@daily"), None, Some(60)).unwrap_err(),
            RuleError::Both
        );
        assert_eq!(Rule::new(None, None, None).unwrap_err(), RuleError::Neither);
        assert_eq!(
            Rule::new(None, Some("UTC"), Some(60)).unwrap_err(),
            RuleError::ZoneWithoutCron
        );
    }

    #[test]
    fn intervals_read_units_and_refuse_zero_and_nonsense() {
        assert_eq!(parse_every("30s"), Ok(30));
        assert_eq!(parse_every("5m"), Ok(300));
        assert_eq!(parse_every("2h"), Ok(7_200));
        assert_eq!(parse_every("1d"), Ok(86_400));
        assert_eq!(parse_every("1h30m"), Ok(5_400));
        assert_eq!(parse_every("0s"), Err(RuleError::EveryZero));
        assert_eq!(parse_every("0m0s"), Err(RuleError::EveryZero));
        for bad in [
            "0s",
            "",
            "5",
            "m",
            "1w",
            "-5s",
            "1.5h",
            "99999999999999999999d",
        ] {
            assert!(parse_every(bad).is_err(), "{bad:?} was read");
        }
    }

    #[test]
    fn after_downtime_catchup_decides_which_missed_fires_start_plays() {
        let minute = Rule::new(None, None, Some(60)).expect("a rule");
        let next = at("2026-12-04T10:00:00Z");
        let now = at("2026-12-04T10:05:30Z");
        let (all, after) = due(&minute, next, now, Catchup::All);
        assert_eq!(all.len(), 6);
        assert_eq!(all[0], next);
        assert_eq!(after, Some(at("2026-12-04T10:06:00Z")));
        let (latest, _) = due(&minute, next, now, Catchup::Latest);
        assert_eq!(latest, vec![at("2026-12-04T10:05:00Z")]);
        // The last fire is 30 s late: on time, so even `none` starts it.
        let (none, _) = due(&minute, next, now, Catchup::None);
        assert_eq!(none, vec![at("2026-12-04T10:05:00Z")]);
        let ten = Rule::new(None, None, Some(600)).expect("a rule");
        let (none_late, after) = due(&ten, next, at("2026-12-04T10:01:30Z"), Catchup::None);
        assert!(none_late.is_empty(), "a fire 90 s late was started");
        assert_eq!(after, Some(at("2026-12-04T10:10:00Z")));
        // Not due yet: nothing, and the plan stays.
        let (nothing, same) = due(&minute, next, at("2026-12-04T09:59:59Z"), Catchup::All);
        assert!(nothing.is_empty());
        assert_eq!(same, Some(next));
    }

    #[test]
    fn catchup_all_starts_at_most_a_hundred_of_the_latest_missed_fires() {
        let second = Rule::new(None, None, Some(1)).expect("a rule");
        let next = at("2026-12-04T10:00:00Z");
        let (fires, _) = due(&second, next, at("2026-12-04T11:00:00Z"), Catchup::All);
        assert_eq!(fires.len(), MAX_CATCHUP);
        assert_eq!(fires.last(), Some(&at("2026-12-04T11:00:00Z")));
    }
}
