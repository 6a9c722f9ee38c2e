//! Typed ids of the main records and their version: an organisation's id cannot be passed where
//! a user's is expected, nor a version where an id is.

/// Declares an id type over `BIGINT` on both backends (JSON: a number).
macro_rules! id_type {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord,
            serde::Serialize, serde::Deserialize,
            diesel::expression::AsExpression, diesel::deserialize::FromSqlRow,
        )]
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl $name {
            /// The number, for URLs, JSON views and audit entries.
            pub fn get(self) -> i64 {
                self.0
            }
        }

        impl From<i64> for $name {
            fn from(n: i64) -> Self {
                $name(n)
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::num::ParseIntError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.parse().map($name)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl<DB> diesel::serialize::ToSql<diesel::sql_types::BigInt, DB> for $name
        where
            DB: diesel::backend::Backend,
            i64: diesel::serialize::ToSql<diesel::sql_types::BigInt, DB>,
        {
            fn to_sql<'b>(&'b self, out: &mut diesel::serialize::Output<'b, '_, DB>) -> diesel::serialize::Result {
                <i64 as diesel::serialize::ToSql<diesel::sql_types::BigInt, DB>>::to_sql(&self.0, out)
            }
        }

        impl<DB> diesel::deserialize::FromSql<diesel::sql_types::BigInt, DB> for $name
        where
            DB: diesel::backend::Backend,
            i64: diesel::deserialize::FromSql<diesel::sql_types::BigInt, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> diesel::deserialize::Result<Self> {
                <i64 as diesel::deserialize::FromSql<diesel::sql_types::BigInt, DB>>::from_sql(bytes).map($name)
            }
        }
    };
}

id_type!(
    /// An organisation.
    OrgId
);
id_type!(
    /// A user account.
    UserId
);
id_type!(
    /// An organisation's bearer token.
    TokenId
);
id_type!(
    /// A referral.
    ReferralId
);
id_type!(
    /// A shift of the roster.
    ShiftId
);
id_type!(
    /// A call of the central station's log.
    CallId
);
id_type!(
    /// A message of the notification outbox.
    MessageId
);
id_type!(
    /// A record's data key (see `crypto`).
    DataKeyId
);
id_type!(
    /// The version of a record: 1 when created, one more at each change. Sent as `ETag` and
    /// expected back as `If-Match`.
    Version
);

impl Version {
    /// The version of a record just created.
    pub const FIRST: Version = Version(1);

    pub fn next(self) -> Version {
        Version(self.0 + 1)
    }
}
id_type!(
    /// A person known to the unit (counted once across referrals).
    PersonId
);
id_type!(
    /// A case the crisis unit runs about a person.
    CaseId
);
id_type!(
    /// An interview (*colloquio*) of a case.
    InterviewId
);
id_type!(
    /// A task on a case.
    TaskId
);
id_type!(
    /// A flag on a case.
    FlagId
);
id_type!(
    /// A written feedback letter (*riscontro scritto*) of a case.
    LetterId
);
