//! Times, durations, costs, icons and JSON as people read them, in the
//! CLI and the dashboard alike.
//!
//! Every function takes the clock as an argument instead of reading it, so
//! a rendered screen is a pure function of the state and snapshots are
//! stable. Times are shown in UTC, as they are stored, except where a
//! person plans by them (a schedule's next fire), which take a zone.

use jiff::fmt::friendly::SpanPrinter;
use jiff::tz::TimeZone;
use jiff::{RoundMode, Span, SpanRound, Timestamp, Unit};
use serde_json::Value;

use crate::model::{OnTimeout, Play, PlayStatus, ResumeKind, ResumeRequest, SpanStatus};

/// A timer: the clock answers the pause.
pub const TIMER_ICON: &str = "⏲";
/// A deadline: a pause that gives up at a time.
pub const DEADLINE_ICON: &str = "⌛";

pub fn play_icon(status: PlayStatus) -> &'static str {
    match status {
        PlayStatus::Pending => "◌",
        PlayStatus::Running => "▶",
        PlayStatus::AwaitingResume => "⏸",
        PlayStatus::Success => "✔",
        PlayStatus::Failed => "✘",
        PlayStatus::Cancelled => "■",
        PlayStatus::TimedOut => "⌛",
    }
}

/// Replayed spans get their own icon: work recorded by an earlier run.
pub fn span_icon(status: SpanStatus) -> &'static str {
    match status {
        SpanStatus::Running => "▶",
        SpanStatus::Success => "✔",
        SpanStatus::Failed => "✘",
        SpanStatus::Replayed => "↺",
        SpanStatus::Paused => "⏸",
        SpanStatus::Cancelled => "■",
    }
}

fn parse(at: &str) -> Option<Timestamp> {
    at.parse().ok()
}

/// "120ms", "1.2s", "4m12s", "2h05m", "3d".
pub fn duration(secs: f64) -> String {
    let s = secs.max(0.0);
    if s < 1.0 {
        format!("{:.0}ms", s * 1000.0)
    } else if s < 60.0 {
        format!("{s:.1}s")
    } else if s < 3600.0 {
        format!("{}m{:02}s", (s / 60.0) as u64, (s % 60.0) as u64)
    } else if s < 86_400.0 {
        format!(
            "{}h{:02}m",
            (s / 3600.0) as u64,
            ((s % 3600.0) / 60.0) as u64
        )
    } else {
        format!("{}d", (s / 86_400.0) as u64)
    }
}

/// Seconds from `from` to `to`, or to `now` while `to` is not set yet.
pub fn elapsed(from: &str, to: Option<&str>, now: Timestamp) -> Option<f64> {
    let start = parse(from)?;
    let end = match to {
        Some(to) => parse(to)?,
        None => now,
    };
    Some(end.duration_since(start).as_secs_f64().max(0.0))
}

/// How long ago, compactly: "12s", "4m", "2h", "3d".
pub fn age(at: &str, now: Timestamp) -> String {
    let Some(secs) = elapsed(at, None, now) else {
        return "-".into();
    };
    let s = secs as u64;
    if s < 60 {
        format!("{s}s")
    } else if s < 3600 {
        format!("{}m", s / 60)
    } else if s < 86_400 {
        format!("{}h", s / 3600)
    } else {
        format!("{}d", s / 86_400)
    }
}

/// A number of seconds as jiff's friendly format prints it, to the
/// precision that suits its size: "12s", "4m 10s", "2h 5m", "3d 4h".
pub fn seconds_span(secs: i64) -> String {
    static PRINTER: SpanPrinter = SpanPrinter::new();
    let secs = secs.max(0);
    let smallest = match secs {
        ..3_600 => Unit::Second,
        3_600..86_400 => Unit::Minute,
        _ => Unit::Hour,
    };
    let round = SpanRound::new()
        .largest(Unit::Day)
        .smallest(smallest)
        .mode(RoundMode::Trunc)
        .days_are_24_hours();
    let span = Span::new().seconds(secs);
    PRINTER.span_to_string(&span.round(round).unwrap_or(span))
}

/// How long until `at` (whole seconds, rounded up, so a countdown never
/// shows 0s before its time): "4m 10s"; `None` once `at` has come or when
/// it does not parse.
pub fn time_left(at: &str, now: Timestamp) -> Option<String> {
    let left = now.duration_until(parse(at)?).as_secs_f64().ceil();
    (left >= 1.0).then(|| seconds_span(left as i64))
}

/// What the clock will do to an open pause, as the dashboard shows it:
/// "⏲ wakes in 4m 10s" for a timer, "⌛ 2m 5s left" for a pause with a
/// deadline; `None` when no clock answers it.
pub fn countdown(request: &ResumeRequest, now: Timestamp) -> Option<String> {
    if request.kind == ResumeKind::Timer {
        let wake = request.wake_at.as_deref()?;
        return Some(match time_left(wake, now) {
            Some(left) => format!("{TIMER_ICON} wakes in {left}"),
            None => format!("{TIMER_ICON} waking"),
        });
    }
    let expires = request.expires_at.as_deref()?;
    Some(match time_left(expires, now) {
        Some(left) => format!("{DEADLINE_ICON} {left} left"),
        None => format!("{DEADLINE_ICON} timing out"),
    })
}

/// "in 3m 10s", or "due" once the time has come.
pub fn in_time(at: &str, now: Timestamp) -> String {
    match time_left(at, now) {
        Some(left) => format!("in {left}"),
        None => "due".into(),
    }
}

/// What the clock does to an open pause, for the command line: "wakes in
/// 4m 10s" (a timer), "expires in 2m 5s" (a deadline), "… now" once its
/// time has come; `None` when no clock answers it.
pub fn due(request: &ResumeRequest, now: Timestamp) -> Option<String> {
    let at = request.due_at()?;
    let verb = match request.kind {
        ResumeKind::Timer => "wakes",
        _ => "expires",
    };
    Some(match time_left(at, now) {
        Some(left) => format!("{verb} in {left}"),
        None => format!("{verb} now"),
    })
}

/// `due` with the moment itself and what a deadline does when it comes:
/// "expires in 2m 5s, at 2026-11-02 10:07:05Z, then returns its default".
pub fn due_note(request: &ResumeRequest, now: Timestamp) -> Option<String> {
    let mut note = format!(
        "{}, at {}",
        due(request, now)?,
        date_time(request.due_at()?)
    );
    if request.kind != ResumeKind::Timer {
        match request.on_timeout {
            Some(OnTimeout::Default(_)) => note.push_str(", then returns its default"),
            Some(OnTimeout::Raise) => note.push_str(", then raises PauseTimeout"),
            None => {}
        }
    }
    Some(note)
}

/// "2026-11-02 11:05 CET": a moment in `tz`, to the minute.
pub fn zoned_time(at: &str, tz: &TimeZone) -> String {
    parse(at)
        .map(|t| {
            t.to_zoned_datetime(tz.clone())
                .strftime("%Y-%m-%d %H:%M %Z")
                .to_string()
        })
        .unwrap_or_else(|| "-".into())
}

/// Seconds since `at`, for deciding how often the clock must tick.
pub fn seconds_since(at: &str, now: Timestamp) -> f64 {
    elapsed(at, None, now).unwrap_or(f64::MAX)
}

/// How long a play ran, or has been running so far.
pub fn play_duration(play: &Play, now: Timestamp) -> String {
    play.started_at
        .as_deref()
        .and_then(|start| elapsed(start, play.ended_at.as_deref(), now))
        .map(duration)
        .unwrap_or_else(|| "-".into())
}

/// "10:00:01", in UTC.
pub fn clock(at: &str) -> String {
    parse(at)
        .map(|t| t.strftime("%H:%M:%S").to_string())
        .unwrap_or_else(|| "-".into())
}

/// "2026-11-02 10:00:01Z", in UTC.
pub fn date_time(at: &str) -> String {
    parse(at)
        .map(|t| t.strftime("%Y-%m-%d %H:%M:%SZ").to_string())
        .unwrap_or_else(|| "-".into())
}

pub fn cost(usd: f64) -> String {
    if usd > 0.0 {
        format!("${usd:.4}")
    } else {
        "-".into()
    }
}

/// The first `len` characters of a sid or version: enough to tell apart.
pub fn short(sid: &str, len: usize) -> &str {
    match sid.char_indices().nth(len) {
        Some((end, _)) => &sid[..end],
        None => sid,
    }
}

/// Cuts `text` to `max` characters, marking the cut with "…".
pub fn clip(text: &str, max: usize) -> String {
    match text.char_indices().nth(max.saturating_sub(1)) {
        Some((end, _)) if text.chars().count() > max => format!("{}…", &text[..end]),
        _ => text.to_owned(),
    }
}

/// A value on one line, cut to `max` characters; `null` shows as "-".
pub fn json_line(value: &Value, max: usize) -> String {
    match value {
        Value::Null => "-".into(),
        Value::String(s) => clip(s, max),
        other => clip(&other.to_string(), max),
    }
}

/// A value pretty-printed, at most `max_lines` lines, so a huge output
/// cannot slow a frame down.
pub fn json_block(value: &Value, max_lines: usize) -> Vec<String> {
    let text = match value {
        Value::String(s) => s.clone(),
        other => serde_json::to_string_pretty(other).unwrap_or_default(),
    };
    let mut lines: Vec<String> = text
        .lines()
        .take(max_lines + 1)
        .map(str::to_owned)
        .collect();
    if lines.len() > max_lines {
        lines.truncate(max_lines);
        lines.push("…".into());
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(s: &str) -> Timestamp {
        s.parse().expect("a test timestamp")
    }

    #[test]
    fn durations_read_at_every_scale() {
        let cases = [
            (0.012, "12ms"),
            (1.25, "1.2s"),
            (252.0, "4m12s"),
            (7500.0, "2h05m"),
            (3.0 * 86_400.0, "3d"),
            (-1.0, "0ms"),
        ];
        for (secs, shown) in cases {
            assert_eq!(duration(secs), shown, "{secs} s");
        }
    }

    #[test]
    fn ages_are_compact() {
        let now = at("2026-11-02T10:00:00Z");
        let cases = [
            ("2026-11-02T09:59:48Z", "12s"),
            ("2026-11-02T09:56:00Z", "4m"),
            ("2026-11-02T08:00:00Z", "2h"),
            ("2026-10-30T10:00:00Z", "3d"),
            ("not a time", "-"),
        ];
        for (when, shown) in cases {
            assert_eq!(age(when, now), shown, "{when}");
        }
    }

    #[test]
    fn time_left_reads_at_every_scale_and_ends_at_the_moment() {
        let now = at("2026-11-02T10:00:00Z");
        let cases = [
            ("2026-11-02T10:00:12Z", Some("12s")),
            ("2026-11-02T10:04:10Z", Some("4m 10s")),
            ("2026-11-02T10:04:09.2Z", Some("4m 10s")),
            ("2026-11-02T12:05:59Z", Some("2h 5m")),
            ("2026-11-05T14:30:00Z", Some("3d 4h")),
            ("2026-11-02T10:00:00Z", None),
            ("2026-11-02T09:00:00Z", None),
            ("not a time", None),
        ];
        for (when, shown) in cases {
            assert_eq!(time_left(when, now).as_deref(), shown, "{when}");
        }
        assert_eq!(in_time("2026-11-02T10:03:00Z", now), "in 3m");
        assert_eq!(in_time("2026-11-02T09:59:00Z", now), "due");
        assert_eq!(seconds_span(300), "5m");
        assert_eq!(seconds_span(86_400), "1d");
    }

    #[test]
    fn countdowns_say_what_the_clock_does() {
        let now = at("2026-11-02T10:00:00Z");
        let mut request = ResumeRequest {
            id: "r".into(),
            name: "sleep".into(),
            schema: Value::Null,
            ui: Value::Null,
            asked_at_span_id: None,
            asked_at: "2026-11-02T09:59:00Z".into(),
            payload: Value::Null,
            resumed_at: None,
            kind: ResumeKind::Timer,
            wake_at: Some("2026-11-02T10:04:10Z".into()),
            expires_at: None,
            on_timeout: None,
            by: None,
            token: None,
            resume_url: None,
        };
        assert_eq!(
            countdown(&request, now).as_deref(),
            Some("⏲ wakes in 4m 10s")
        );
        request.wake_at = Some("2026-11-02T09:59:59Z".into());
        assert_eq!(countdown(&request, now).as_deref(), Some("⏲ waking"));
        request.kind = ResumeKind::Pause;
        assert_eq!(countdown(&request, now), None, "a pause without a deadline");
        request.expires_at = Some("2026-11-02T10:02:05Z".into());
        assert_eq!(countdown(&request, now).as_deref(), Some("⌛ 2m 5s left"));
        assert_eq!(due(&request, now).as_deref(), Some("expires in 2m 5s"));
        assert_eq!(
            due_note(&request, now).as_deref(),
            Some("expires in 2m 5s, at 2026-11-02 10:02:05Z")
        );
        request.on_timeout = Some(OnTimeout::Raise);
        assert!(
            due_note(&request, now)
                .unwrap()
                .ends_with(", then raises PauseTimeout")
        );
        request.on_timeout = Some(OnTimeout::Default(Value::Bool(true)));
        assert!(
            due_note(&request, now)
                .unwrap()
                .ends_with(", then returns its default")
        );
        request.expires_at = Some("2026-11-02T09:00:00Z".into());
        assert_eq!(due(&request, now).as_deref(), Some("expires now"));
        request.kind = ResumeKind::Timer;
        request.wake_at = Some("2026-11-02T10:04:10Z".into());
        assert_eq!(
            due_note(&request, now).as_deref(),
            Some("wakes in 4m 10s, at 2026-11-02 10:04:10Z"),
            "a timer has no deadline's ending"
        );
    }

    #[test]
    fn zoned_times_name_their_zone() {
        let paris = TimeZone::get("Europe/Paris").expect("the zone database");
        assert_eq!(
            zoned_time("2026-11-02T10:05:00Z", &paris),
            "2026-11-02 11:05 CET"
        );
        assert_eq!(
            zoned_time("2026-11-02T10:05:00Z", &TimeZone::UTC),
            "2026-11-02 10:05 UTC"
        );
        assert_eq!(zoned_time("nope", &TimeZone::UTC), "-");
    }

    #[test]
    fn clips_and_json_lines() {
        assert_eq!(clip("abcdef", 4), "abc…");
        assert_eq!(clip("abc", 4), "abc");
        assert_eq!(json_line(&json!(null), 10), "-");
        assert_eq!(json_line(&json!("text"), 10), "text");
        assert_eq!(json_line(&json!({"a": 1}), 10), r#"{"a":1}"#);
        assert_eq!(short("0123456789ab", 8), "01234567");
        assert_eq!(clock("2026-11-02T10:00:01.5Z"), "10:00:01");
        let long = json!((0..100).collect::<Vec<_>>());
        assert_eq!(json_block(&long, 5).len(), 6);
    }
}
