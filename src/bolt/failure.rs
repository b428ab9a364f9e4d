//! FAILURE: why a request was refused, in the shape every driver from Bolt 4.4 to 5.8 reads.
//!
//! Bolt up to 5.6 reads `code` and `message`; 5.7 and later read `neo4j_code`, `message`,
//! `gql_status` and `description`, and a driver that misses either of the last two replaces the
//! message with "An unknown error occurred" (BOLT.md section 3.5). So every [`Failure`] carries
//! all five keys, whatever the version.
//!
//! ```
//! use tagroute::bolt::Failure;
//!
//! let failure = Failure::policy_not_found("atlantis");
//! assert_eq!(failure.code(), "Neo.ClientError.Procedure.ProcedureCallFailed");
//! assert_eq!(failure.message(), "Policy definition for 'atlantis' could not be found.");
//! assert_eq!(failure.gql_status(), "08N15");
//! ```

use std::borrow::Cow;
use std::fmt;

use super::packstream::{Map, Value};

/// A refusal: a Neo4j status code, a message, and the GQL status and description of Bolt 5.7+.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    code: Cow<'static, str>,
    message: String,
    gql_status: Cow<'static, str>,
    description: String,
}

/// GQL's catch-all: "general processing exception - unexpected error".
const GENERAL_GQL_STATUS: &str = "50N42";
const GENERAL_DESCRIPTION: &str = "error: general processing exception - unexpected error";

impl Failure {
    /// A failure with a Neo4j status `code` (`Neo.<Classification>.<Category>.<Title>`) and the
    /// general GQL status `50N42`.
    pub fn new(code: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        Failure::with_gql(code, message, GENERAL_GQL_STATUS, GENERAL_DESCRIPTION)
    }

    /// A failure with a specific GQL status; `description` is the status's own text, and the
    /// message is appended to it as Neo4j does.
    pub fn with_gql(
        code: impl Into<Cow<'static, str>>,
        message: impl Into<String>,
        gql_status: impl Into<Cow<'static, str>>,
        description: &str,
    ) -> Self {
        let message = message.into();
        Failure {
            code: code.into(),
            description: format!("{description}. {message}"),
            message,
            gql_status: gql_status.into(),
        }
    }

    /// `Neo.ClientError.Request.Invalid`: a request this endpoint does not serve, or that is
    /// malformed or out of place. Drivers treat it as fatal and raise it to the user.
    pub fn request_invalid(message: impl Into<String>) -> Self {
        Failure::new("Neo.ClientError.Request.Invalid", message)
    }

    /// `Neo.ClientError.Request.Invalid` for a query or transaction request (RUN, BEGIN, …):
    /// this endpoint serves routing tables only.
    pub fn routing_only(request: &str) -> Self {
        Failure::request_invalid(format!(
            "{request} is not supported: this endpoint serves routing tables only; \
             send queries to the servers of the routing table"
        ))
    }

    /// `Neo.ClientError.Security.Unauthorized` (GQL `42NFF`, access denied): wrong credentials.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Failure::with_gql(
            "Neo.ClientError.Security.Unauthorized",
            message,
            "42NFF",
            "error: syntax error or access rule violation - permission/access denied",
        )
    }

    /// `Neo.ClientError.Procedure.ProcedureCallFailed` "Policy definition for '`name`' could not
    /// be found." with GQL `08N15` (unknown routing policy), as Neo4j's server-policies plugin
    /// words it. Drivers do not treat it as fatal: they try the other routers first.
    pub fn policy_not_found(name: &str) -> Self {
        Failure::with_gql(
            "Neo.ClientError.Procedure.ProcedureCallFailed",
            format!("Policy definition for '{name}' could not be found."),
            "08N15",
            "error: connection exception - unknown routing policy",
        )
    }

    /// `Neo.ClientError.Database.DatabaseNotFound` (GQL `22N51`, graph reference not found).
    /// Drivers treat it as fatal and raise it to the user.
    pub fn database_not_found(name: &str) -> Self {
        Failure::with_gql(
            "Neo.ClientError.Database.DatabaseNotFound",
            format!("Database does not exist. Database name: '{name}'."),
            "22N51",
            "error: data exception - graph reference not found",
        )
    }

    /// `Neo.ClientError.Routing.RoutingFailed`: a routing table could not be computed for a
    /// reason of the client's request.
    pub fn routing_failed(message: impl Into<String>) -> Self {
        Failure::new("Neo.ClientError.Routing.RoutingFailed", message)
    }

    /// `Neo.TransientError.General.DatabaseUnavailable`: no usable table right now (for
    /// example no reader is available); Neo4j answers an empty table so. Drivers retry.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Failure::new("Neo.TransientError.General.DatabaseUnavailable", message)
    }

    /// A FAILURE a server sent, whatever its Bolt version: the Neo4j code from `neo4j_code`
    /// (5.7+) or `code` (up to 5.6), the GQL status and description when there are (5.7+).
    /// What is missing is filled in as the Python driver does (`Neo4jError._hydrate_neo4j`
    /// and `_hydrate_gql`): `Neo.DatabaseError.General.UnknownError`, "An unknown error
    /// occurred", GQL `50N42`.
    ///
    /// ```
    /// use tagroute::bolt::Failure;
    /// use tagroute::bolt::packstream::{Map, Value};
    ///
    /// let legacy = Map::from_iter([
    ///     ("code", Value::from("Neo.ClientError.Security.Unauthorized")),
    ///     ("message", Value::from("The client is unauthorized.")),
    /// ]);
    /// let failure = Failure::from_metadata(&legacy);
    /// assert_eq!(failure.code(), "Neo.ClientError.Security.Unauthorized");
    /// assert_eq!(failure.gql_status(), "50N42");
    /// ```
    pub fn from_metadata(metadata: &Map) -> Self {
        let text = |key: &str| metadata.get(key).and_then(Value::as_str);
        let code = text("neo4j_code")
            .or_else(|| text("code"))
            .unwrap_or("Neo.DatabaseError.General.UnknownError");
        let message = text("message").unwrap_or("An unknown error occurred");
        let mut failure = Failure::new(code.to_owned(), message);
        if let (Some(gql_status), Some(description)) = (text("gql_status"), text("description")) {
            failure.gql_status = Cow::Owned(gql_status.to_owned());
            failure.description = description.to_owned();
        }
        failure
    }

    /// The Neo4j status code, sent as both `code` and `neo4j_code`.
    pub fn code(&self) -> &str {
        &self.code
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The GQL status, such as `50N42`.
    pub fn gql_status(&self) -> &str {
        &self.gql_status
    }

    /// The GQL description: the status's text and the message.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// The FAILURE metadata: `code`, `message`, `neo4j_code`, `gql_status`, `description`.
    pub fn to_metadata(&self) -> Map {
        Map::from_iter([
            ("code", Value::from(self.code())),
            ("message", Value::from(self.message())),
            ("neo4j_code", Value::from(self.code())),
            ("gql_status", Value::from(self.gql_status())),
            ("description", Value::from(self.description())),
        ])
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for Failure {}
