//! Tracked objects (a port's link, a reachability probe: the I/O layer decides what a name
//! means). A down object lowers the effective priority by its weight, or forces Fault when it
//! has none.

/// One tracked object of an instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackRule {
    pub name: String,
    /// How much the effective priority drops while the object is down (1..=254); `None`: the
    /// instance goes to Fault instead.
    pub weight: Option<i16>,
}

impl TrackRule {
    pub fn weighted(name: &str, weight: i16) -> Self {
        TrackRule {
            name: name.to_string(),
            weight: Some(weight),
        }
    }

    pub fn fault(name: &str) -> Self {
        TrackRule {
            name: name.to_string(),
            weight: None,
        }
    }
}

/// Which of an instance's rules are down. Objects are presumed up until told otherwise.
#[derive(Debug, Clone, Default)]
pub(crate) struct TrackSet {
    down: Vec<bool>,
}

impl TrackSet {
    pub fn new(rules: &[TrackRule]) -> Self {
        TrackSet {
            down: vec![false; rules.len()],
        }
    }

    /// Records the object's state; true when a rule of this instance changed.
    pub fn set(&mut self, rules: &[TrackRule], name: &str, up: bool) -> bool {
        let mut changed = false;
        for (rule, down) in rules.iter().zip(self.down.iter_mut()) {
            if rule.name == name && *down == up {
                *down = !up;
                changed = true;
            }
        }
        changed
    }

    /// The first down object that forces Fault, if any.
    pub fn fault<'a>(&self, rules: &'a [TrackRule]) -> Option<&'a str> {
        rules
            .iter()
            .zip(&self.down)
            .find(|(r, d)| **d && r.weight.is_none())
            .map(|(r, _)| r.name.as_str())
    }

    /// `base` lowered by the weights of the down objects. Any drop lands in 1..=254, so an
    /// address owner with a down object is no longer the owner (it no longer preempts always).
    pub fn effective_priority(&self, rules: &[TrackRule], base: u8) -> u8 {
        let drop: i32 = rules
            .iter()
            .zip(&self.down)
            .filter(|(_, d)| **d)
            .filter_map(|(r, _)| r.weight)
            .map(i32::from)
            .sum();
        if drop == 0 {
            base
        } else {
            (i32::from(base) - drop).clamp(1, 254) as u8
        }
    }

    pub fn down_names(&self, rules: &[TrackRule]) -> Vec<String> {
        rules
            .iter()
            .zip(&self.down)
            .filter(|(_, d)| **d)
            .map(|(r, _)| r.name.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_add_up_and_clamp() {
        let rules = vec![
            TrackRule::weighted("a", 30),
            TrackRule::weighted("b", 100),
            TrackRule::fault("c"),
        ];
        let mut t = TrackSet::new(&rules);
        assert_eq!(t.effective_priority(&rules, 100), 100);
        assert!(t.set(&rules, "a", false));
        assert!(!t.set(&rules, "a", false), "no change");
        assert_eq!(t.effective_priority(&rules, 100), 70);
        t.set(&rules, "b", false);
        assert_eq!(t.effective_priority(&rules, 100), 1);
        t.set(&rules, "a", true);
        t.set(&rules, "b", true);
        assert_eq!(t.effective_priority(&rules, 100), 100);
        assert_eq!(t.fault(&rules), None);
        t.set(&rules, "c", false);
        assert_eq!(t.fault(&rules), Some("c"));
        assert_eq!(t.down_names(&rules), vec!["c".to_string()]);
        assert!(!t.set(&rules, "unknown", false));
    }

    #[test]
    fn owner_drops_below_255() {
        let rules = vec![TrackRule::weighted("a", 1)];
        let mut t = TrackSet::new(&rules);
        assert_eq!(t.effective_priority(&rules, 255), 255);
        t.set(&rules, "a", false);
        assert_eq!(t.effective_priority(&rules, 255), 254);
    }
}
