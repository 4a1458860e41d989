//! The counts behind eKuiper's `last_hit_count()` and `last_hit_time()` (rows that passed
//! WHERE, in a rule without a window or GROUP BY) and `last_agg_hit_count()` and
//! `last_agg_hit_time()` (groups that passed HAVING). A row or group reads the count and time
//! as they stood before it; once it passes, it is counted, with its event time. The state lives
//! as long as the rule.

use std::sync::Mutex;

use super::expr::RowInfo;

#[derive(Debug, Default)]
pub struct Hits {
    /// Whether groups are counted (`last_agg_hit_*`) rather than rows.
    pub aggregate: bool,
    /// (count, time of the last hit)
    state: Mutex<(i64, i64)>,
}

impl Hits {
    pub fn new(aggregate: bool) -> Hits {
        Hits {
            aggregate,
            state: Mutex::new((0, 0)),
        }
    }

    /// `info` with the hits before this row or group.
    pub fn before(&self, info: RowInfo) -> RowInfo {
        let (hit_count, hit_time) = *self.state.lock().unwrap_or_else(|p| p.into_inner());
        RowInfo {
            hit_count,
            hit_time,
            ..info
        }
    }

    /// Counts a row or group that passed, at its event time.
    pub fn hit(&self, event_time: Option<i64>) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.0 += 1;
        state.1 = event_time.unwrap_or(state.1);
    }
}
