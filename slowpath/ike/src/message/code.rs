//! IANA code points as newtypes: a value nobody registered yet stays representable (a peer
//! may send it, and it must round-trip), the known ones are associated consts with their
//! registry names, which `Debug` shows.

/// Declares `pub struct $name(pub $repr)` with the given consts, `name()`, `Debug`, `Display`
/// and conversions from and to the raw value.
macro_rules! code_point {
    (
        $(#[$meta:meta])*
        $name:ident($repr:ty) {
            $( $(#[$cmeta:meta])* $konst:ident = $value:expr ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
        #[derive(serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub $repr);

        impl $name {
            $( $(#[$cmeta])* pub const $konst: $name = $name($value); )*

            /// The registry name of a known value.
            pub fn name(self) -> Option<&'static str> {
                const NAMES: &[($repr, &str)] = &[$(($value, stringify!($konst))),*];
                NAMES.iter().find(|(v, _)| *v == self.0).map(|(_, n)| *n)
            }
        }

        impl core::fmt::Debug for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                match self.name() {
                    Some(n) => f.write_str(n),
                    None => write!(f, "{}({})", stringify!($name), self.0),
                }
            }
        }

        impl core::fmt::Display for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                core::fmt::Debug::fmt(self, f)
            }
        }

        impl From<$repr> for $name {
            fn from(v: $repr) -> $name {
                $name(v)
            }
        }

        impl From<$name> for $repr {
            fn from(v: $name) -> $repr {
                v.0
            }
        }
    };
}

pub(crate) use code_point;

#[cfg(test)]
mod tests {
    code_point! {
        /// A test registry.
        Color(u8) { RED = 1, GREEN = 2 }
    }

    #[test]
    fn names_and_unknowns() {
        assert_eq!(Color::RED.name(), Some("RED"));
        assert_eq!(format!("{:?}", Color::GREEN), "GREEN");
        assert_eq!(format!("{}", Color(9)), "Color(9)");
        assert_eq!(Color::from(2), Color::GREEN);
        assert_eq!(u8::from(Color::RED), 1);
        assert_eq!(Color::default(), Color(0));
    }
}
