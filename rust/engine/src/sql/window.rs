//! Windows, as eKuiper declares them in GROUP BY: `TUMBLINGWINDOW(ss, 10)` and its kin.

use std::sync::Arc;

use super::expr::Expr;
use super::hits::Hits;

/// What a window is, its lengths in milliseconds (or rows for count windows).
#[derive(Debug, Clone, PartialEq)]
pub enum WindowKind {
    /// Back-to-back windows of `length`, aligned to natural time (a 10 s window ends at :10,
    /// :20, ...).
    Tumbling { length: i64 },
    /// Windows of `length` that start every `hop`, aligned like tumbling windows.
    Hopping { length: i64, hop: i64 },
    /// A window of the `length` before each row, emitted `delay` after it.
    Sliding { length: i64, delay: i64 },
    /// Rows closer than `timeout` to each other, up to `max` long.
    Session { max: i64, timeout: i64 },
    /// Every `count` rows; with `interval`, the last `count` rows every `interval` rows.
    Count {
        count: usize,
        interval: Option<usize>,
    },
    /// From a row that meets the begin condition to one that meets the emit condition (the
    /// conditions are the spec's `state`).
    State,
}

#[derive(Debug, Clone)]
pub struct WindowSpec {
    pub kind: WindowKind,
    /// `FILTER (WHERE ...)` after the window: rows that fail it never enter the window.
    pub filter: Option<Expr>,
    /// `SLIDINGWINDOW(...) OVER (WHEN ...)`: only rows that meet it close a window.
    pub trigger: Option<Expr>,
    /// The counts behind `last_hit_count()` and `last_hit_time()` in the trigger: the rows
    /// that met it, as eKuiper keeps them there.
    pub trigger_hits: Option<Arc<Hits>>,
    /// `STATEWINDOW(begin, emit)`: its two conditions.
    pub state: Option<(Expr, Expr)>,
}

/// The window functions' names.
pub const WINDOW_FUNCTIONS: &[&str] = &[
    "tumblingwindow",
    "hoppingwindow",
    "slidingwindow",
    "sessionwindow",
    "countwindow",
    "statewindow",
];

/// eKuiper's time units.
pub fn unit_ms(unit: &str) -> Option<i64> {
    Some(match unit.to_ascii_lowercase().as_str() {
        "dd" => 86_400_000,
        "hh" => 3_600_000,
        "mi" => 60_000,
        "ss" => 1_000,
        "ms" => 1,
        _ => return None,
    })
}

impl WindowKind {
    /// Builds a window from its function name and arguments: a time unit (None for count
    /// windows) and the integer arguments after it.
    pub fn new(name: &str, unit: Option<i64>, args: &[i64]) -> Result<WindowKind, String> {
        let positive = |what: &str, v: i64| {
            if v > 0 {
                Ok(v)
            } else {
                Err(format!("{name}: the {what} must be more than 0, found {v}"))
            }
        };
        let ms = |v: i64| v * unit.unwrap_or(1);
        let count = |want: &str| format!("{name} takes {want}, found {} number(s)", args.len());
        match name {
            "tumblingwindow" => match args {
                [length] => Ok(WindowKind::Tumbling {
                    length: ms(positive("length", *length)?),
                }),
                _ => Err(count("a time unit and a length")),
            },
            "hoppingwindow" => match args {
                [length, hop] => {
                    let (length, hop) =
                        (ms(positive("length", *length)?), ms(positive("hop", *hop)?));
                    Ok(WindowKind::Hopping { length, hop })
                }
                _ => Err(count("a time unit, a length and a hop")),
            },
            "slidingwindow" => match args {
                [length] => Ok(WindowKind::Sliding {
                    length: ms(positive("length", *length)?),
                    delay: 0,
                }),
                [length, delay] if *delay >= 0 => Ok(WindowKind::Sliding {
                    length: ms(positive("length", *length)?),
                    delay: ms(*delay),
                }),
                _ => Err(count("a time unit, a length and an optional delay")),
            },
            "sessionwindow" => match args {
                [max, timeout] => Ok(WindowKind::Session {
                    max: ms(positive("maximum duration", *max)?),
                    timeout: ms(positive("timeout", *timeout)?),
                }),
                _ => Err(count("a time unit, a maximum duration and a timeout")),
            },
            "countwindow" => {
                let size = |v: i64, what: &str| positive(what, v).map(|v| v as usize);
                match args {
                    [n] => Ok(WindowKind::Count {
                        count: size(*n, "count")?,
                        interval: None,
                    }),
                    [n, interval] => Ok(WindowKind::Count {
                        count: size(*n, "count")?,
                        interval: Some(size(*interval, "interval")?),
                    }),
                    _ => Err(count("a count and an optional interval")),
                }
            }
            other => Err(format!("{other} is not a window")),
        }
    }

    /// Whether the window is measured in time (and needs a time unit).
    pub fn timed(name: &str) -> bool {
        name != "countwindow"
    }
}
