//! Policies are cluster-wide: `check` with several files reports every policy that is not the
//! same on every server.

use std::collections::BTreeSet;

use super::Config;

/// A policy that differs between configurations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyDifference {
    /// The policy's name.
    pub name: String,
    /// One entry per configuration, in the order given.
    pub versions: Vec<PolicyVersion>,
}

/// What one configuration says about a policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyVersion {
    /// The configuration's file name.
    pub origin: String,
    /// The policy in canonical form (`tags(a,b)->min(2); halt()`), or `None` when the
    /// configuration does not have it. The built-in `default` counts as `all()`.
    pub canonical: Option<String>,
}

/// The policies that differ between `configs`, by name: absent from some, or with a different
/// meaning (policies that differ only in spelling, such as `groups(b,a)` and `tags(a,b)`, are the
/// same).
pub fn policy_differences(configs: &[&Config]) -> Vec<PolicyDifference> {
    let names: BTreeSet<&str> = configs
        .iter()
        .flat_map(|c| c.policies().keys().map(String::as_str))
        .collect();
    names
        .into_iter()
        .filter(|name| !same_everywhere(configs, name))
        .map(|name| PolicyDifference {
            name: name.to_owned(),
            versions: configs
                .iter()
                .map(|c| PolicyVersion {
                    origin: c.origin().to_owned(),
                    canonical: c.policy(name).map(|p| p.policy().to_string()),
                })
                .collect(),
        })
        .collect()
}

fn same_everywhere(configs: &[&Config], name: &str) -> bool {
    let mut policies = configs.iter().map(|c| c.policy(name));
    let first = policies.next().flatten();
    policies.all(|policy| match (first, policy) {
        (None, None) => true,
        (Some(first), Some(policy)) => first.decides_like(policy),
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::syntax::Strictness;

    fn config(source: &str, origin: &str) -> Config {
        Config::parse(source, Path::new(origin), Strictness::Default).unwrap()
    }

    const PREFIX: &str = "dbms.routing.load_balancing.config.server_policies.";

    #[test]
    fn reports_missing_and_different_policies_by_meaning() {
        let a = config(
            &format!(
                "{PREFIX}same=groups(b,a)\n{PREFIX}north=tags(n);halt()\n{PREFIX}only_a=all()"
            ),
            "a.conf",
        );
        let b = config(
            &format!("{PREFIX}same=tags(a, b)\n{PREFIX}north=tags(n)\n{PREFIX}default=all()"),
            "b.conf",
        );
        let version = |origin: &str, canonical: Option<&str>| PolicyVersion {
            origin: origin.to_owned(),
            canonical: canonical.map(str::to_owned),
        };
        assert_eq!(
            policy_differences(&[&a, &b]),
            [
                PolicyDifference {
                    name: "north".into(),
                    versions: vec![
                        version("a.conf", Some("tags(n); halt()")),
                        version("b.conf", Some("tags(n)"))
                    ],
                },
                PolicyDifference {
                    name: "only_a".into(),
                    versions: vec![version("a.conf", Some("all()")), version("b.conf", None)],
                },
            ]
        );
    }

    #[test]
    fn identical_or_single_configurations_have_no_differences() {
        let a = config(&format!("{PREFIX}p=tags(x)"), "a.conf");
        assert_eq!(policy_differences(&[&a]), []);
        assert_eq!(policy_differences(&[&a, &a.clone()]), []);
        assert_eq!(policy_differences(&[]), []);
    }
}
