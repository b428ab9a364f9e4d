//! The canonical printer: a policy in its normal form, as text that parses back to it.
//!
//! `tags(a,b)->min(2); tags(c); halt()`: tags sorted and deduplicated, `tags` never `groups`,
//! dropped rules left out, numbers in decimal. A policy with no rules prints as `halt()` when it
//! halts (a zero-rule policy, which returns every candidate) and as `all()` when it does not.
//! For every valid text `p`, `normalize(parse(print(p))) == normalize(p)`.

use std::fmt;

use super::tree::{Normalized, Policy};

impl fmt::Display for Normalized {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.rules.is_empty() {
            return f.write_str(if self.halts { "halt()" } else { "all()" });
        }
        for (i, rule) in self.rules.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            rule.fmt(f)?;
        }
        if self.halts {
            f.write_str("; halt()")?;
        }
        Ok(())
    }
}

impl fmt::Display for Policy {
    /// Prints the canonical form of the policy (see [`Normalized`]).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.normalize().fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use crate::syntax::Strictness;
    use crate::syntax::parse;

    fn canonical(text: &str) -> String {
        match parse(text, Strictness::Default) {
            Ok(policy) => policy.to_string(),
            Err(e) => format!("error: {e}"),
        }
    }

    #[test]
    fn prints_the_normal_form() {
        assert_eq!(
            canonical("groups(b,a,a) -> min(007) ; all() -> tags(c);->; halt();"),
            "tags(a,b)->min(7); tags(c); halt()"
        );
        assert_eq!(canonical("halt()"), "halt()");
        assert_eq!(canonical("all(); halt()"), "halt()");
        assert_eq!(canonical("all()"), "all()");
        assert_eq!(canonical("->"), "all()");
        assert_eq!(canonical("min(-0)"), "min(0)");
    }
}
