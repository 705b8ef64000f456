//! Registry repository names -> SWR namespace + repository.
//!
//! A registry name is `/`-separated components. The first component is the
//! SWR namespace, the rest (joined with `/`) the repository:
//!
//! | registry name | namespace | repository |
//! |---|---|---|
//! | `group/app` | `group` | `app` |
//! | `group/tools/app` | `group` | `tools/app` |
//! | `busybox` | rejected: SWR has no repository outside a namespace | |
//!
//! Both parts must satisfy the API's name rules
//! ([`is_valid_namespace`], [`is_valid_repository`]): the registry allows
//! names SWR does not (a namespace starting with a digit, `-` runs), and those
//! are rejected too. Which *domain* owns the namespace is decided by the store
//! (see the [module docs](super)).

use swr_api::names::{is_valid_namespace, is_valid_repository};

/// An SWR namespace and repository.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SwrName {
    /// Namespace (the first component).
    pub namespace: String,
    /// Repository (the other components, with `/`).
    pub repository: String,
}

/// Why a registry name has no SWR equivalent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MappingError {
    /// `busybox`: no namespace.
    #[error("registry repository {0:?} has a single component; SWR needs `namespace/repository`")]
    SingleComponent(String),
    /// The first component breaks SWR's namespace rule.
    #[error("registry repository {name:?}: {namespace:?} is not a valid SWR namespace")]
    BadNamespace {
        /// The registry name.
        name: String,
        /// Its first component.
        namespace: String,
    },
    /// The rest breaks SWR's repository rule.
    #[error("registry repository {name:?}: {repository:?} is not a valid SWR repository")]
    BadRepository {
        /// The registry name.
        name: String,
        /// Everything after the first `/`.
        repository: String,
    },
}

/// Maps a registry repository name (see the module docs).
pub fn map_name(name: &str) -> Result<SwrName, MappingError> {
    let Some((namespace, repository)) = name.split_once('/') else {
        return Err(MappingError::SingleComponent(name.to_owned()));
    };
    if !is_valid_namespace(namespace) {
        return Err(MappingError::BadNamespace {
            name: name.to_owned(),
            namespace: namespace.to_owned(),
        });
    }
    if !is_valid_repository(repository) {
        return Err(MappingError::BadRepository {
            name: name.to_owned(),
            repository: repository.to_owned(),
        });
    }
    Ok(SwrName {
        namespace: namespace.to_owned(),
        repository: repository.to_owned(),
    })
}

/// The registry name of an SWR namespace + repository (the inverse).
pub fn registry_name(namespace: &str, repository: &str) -> String {
    format!("{namespace}/{repository}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_component_is_the_namespace() {
        let n = map_name("group/tools/app").unwrap();
        assert_eq!(
            (n.namespace.as_str(), n.repository.as_str()),
            ("group", "tools/app")
        );
        assert_eq!(
            registry_name(&n.namespace, &n.repository),
            "group/tools/app"
        );
        let n = map_name("group/app").unwrap();
        assert_eq!(
            (n.namespace.as_str(), n.repository.as_str()),
            ("group", "app")
        );
    }

    #[test]
    fn rejects_what_swr_cannot_hold() {
        assert!(matches!(
            map_name("busybox"),
            Err(MappingError::SingleComponent(_))
        ));
        assert!(matches!(
            map_name("1group/app"),
            Err(MappingError::BadNamespace { .. })
        ));
        assert!(matches!(
            map_name("group/"),
            Err(MappingError::BadRepository { .. })
        ));
        assert!(matches!(
            map_name("group/a//b"),
            Err(MappingError::BadRepository { .. })
        ));
    }
}
