//! Export rules: which best paths go into which routing table, with what metric.

use super::community::{Community, LargeCommunity};
use crate::error::{Error, ExportOperation, Origin, Result};

const CONFIGURE: Origin = Origin::RouteExport(ExportOperation::Configure);

/// Metric given to exported routes unless a rule says otherwise.
pub const DEFAULT_METRIC: u32 = 20;

/// Where a rule exports to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    /// A VRF by device name; its table is read from the VRF link (`IFLA_VRF_TABLE`) and next
    /// hops are validated in the VRF (lookup with the VRF device as `oif`).
    Vrf(String),
    /// A table id; next hops are validated with a plain lookup (main table and policy rules).
    Table(u32),
    /// A VRF and a table id, as the PureLB fork's rule with both `vrf` and `table-id`: the
    /// routes go into `table`; next hops are validated in the VRF (lookup with the VRF device
    /// as `oif`) and must be found in `table`.
    VrfTable {
        /// VRF device name.
        vrf: String,
        /// Table the routes go into (not 0).
        table: u32,
    },
}

/// One export rule.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Rule {
    /// Name, unique among the rules; statistics and listings use it.
    pub name: String,
    /// Standard communities; a path carrying any of these (or any of the large ones) matches.
    pub communities: Vec<Community>,
    /// Large communities, matched with the standard ones (OR). Both lists empty: every path
    /// matches.
    pub large_communities: Vec<LargeCommunity>,
    /// Where the routes go.
    pub target: Target,
    /// Metric of the exported routes (part of the kernel's key of a route).
    pub metric: u32,
    /// Check that the next hop is reachable in the target's routing context before exporting
    /// (default on).
    pub validate_nexthop: bool,
}

impl Rule {
    /// A rule exporting every path into `target` with metric 20 and next-hop validation on.
    pub fn new(name: impl Into<String>, target: Target) -> Rule {
        Rule {
            name: name.into(),
            communities: Vec::new(),
            large_communities: Vec::new(),
            target,
            metric: DEFAULT_METRIC,
            validate_nexthop: true,
        }
    }

    /// Whether a path with these communities matches (OR over both lists; empty lists match all).
    pub fn matches(&self, communities: &[Community], large: &[LargeCommunity]) -> bool {
        if self.communities.is_empty() && self.large_communities.is_empty() {
            return true;
        }
        self.communities.iter().any(|c| communities.contains(c))
            || self.large_communities.iter().any(|c| large.contains(c))
    }

    /// Checks a rule set: names non-empty and unique, table ids not 0 (`RT_TABLE_UNSPEC`), at
    /// most 65,535 rules.
    pub fn check_all(rules: &[Rule]) -> Result<()> {
        if rules.len() >= u16::MAX as usize {
            return Err(Error::invalid(CONFIGURE, "too many export rules"));
        }
        for (i, r) in rules.iter().enumerate() {
            if r.name.is_empty() {
                return Err(Error::invalid(CONFIGURE, "export rule without a name"));
            }
            if rules[..i].iter().any(|o| o.name == r.name) {
                return Err(Error::invalid(
                    CONFIGURE,
                    format!("export rule {:?} given twice", r.name),
                ));
            }
            match &r.target {
                Target::Table(0) | Target::VrfTable { table: 0, .. } => {
                    return Err(Error::invalid(
                        CONFIGURE,
                        format!("rule {:?}: table 0", r.name),
                    ))
                }
                Target::Vrf(v) | Target::VrfTable { vrf: v, .. } if v.is_empty() => {
                    return Err(Error::invalid(
                        CONFIGURE,
                        format!("rule {:?}: empty VRF name", r.name),
                    ))
                }
                _ => {}
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching_is_or_and_empty_matches_all() {
        let mut r = Rule::new("a", Target::Table(100));
        assert!(r.matches(&[], &[]));
        r.communities = vec![Community::new(65000, 1), Community::new(65000, 2)];
        r.large_communities = vec!["1:2:3".parse().unwrap()];
        assert!(r.matches(&[Community::new(65000, 2)], &[]));
        assert!(r.matches(&[], &["1:2:3".parse().unwrap()]));
        assert!(!r.matches(&[Community::new(65000, 3)], &["1:2:4".parse().unwrap()]));
        assert!(!r.matches(&[], &[]));
        let dup = vec![r.clone(), r];
        assert!(Rule::check_all(&dup).is_err());
        assert!(Rule::check_all(&[Rule::new("z", Target::Table(0))]).is_err());
    }
}
