//! Vectors that grow by a quarter, not by double: for the tables that compiling a policy
//! builds without knowing their final size (its instructions, stages and tag pool, the
//! interner's names), so that a table just past a power of two does not keep room for as many
//! again. A policy of 40,000 distinct rules kept room for 65,536 in each (issue 22).
//!
//! Growth stays geometric, so a push is still amortised O(1): each element is moved about four
//! times on average instead of once.

/// Makes room for `additional` more elements: a quarter more than the length (at least 16)
/// when that is enough, exactly `additional` otherwise.
pub(crate) fn reserve<T>(vec: &mut Vec<T>, additional: usize) {
    if vec.capacity() - vec.len() < additional {
        vec.reserve_exact(additional.max(vec.len() / 4).max(16));
    }
}

/// Appends `item`, growing `vec` by a quarter when it is full.
pub(crate) fn push<T>(vec: &mut Vec<T>, item: T) {
    reserve(vec, 1);
    vec.push(item);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_grows_by_a_quarter_of_the_length() {
        let mut vec: Vec<u32> = Vec::new();
        for i in 0..1_000 {
            push(&mut vec, i);
            let room = vec.capacity() - vec.len();
            assert!(room <= (vec.len() / 4).max(16), "{} and {room}", vec.len());
        }
        assert_eq!(vec, (0..1_000).collect::<Vec<_>>());
        reserve(&mut vec, 10_000);
        assert_eq!(vec.capacity(), 11_000);
    }
}
