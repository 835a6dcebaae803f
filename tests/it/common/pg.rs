//! A fresh PostgreSQL schema per test on the server DATABASE_URL names, and
//! a URL whose connections use it (`options=-c search_path=...`). Without
//! DATABASE_URL the tests that need one fail when CI=true and are skipped
//! otherwise.

/// A fresh schema on the test server, dropped by `drop_schema`.
pub struct Schema {
    admin_url: String,
    pub name: String,
    pub url: String,
}

impl Schema {
    /// `None` (with a printed reason) when no database is configured outside CI.
    pub async fn create() -> Option<Schema> {
        let admin_url = match std::env::var("DATABASE_URL") {
            Ok(url) if !url.is_empty() => url,
            _ => {
                if std::env::var("CI").is_ok_and(|v| v == "true") {
                    panic!(
                        "DATABASE_URL is not set: the PostgreSQL tests need a server \
                         (e.g. postgres://postgres@127.0.0.1:5432/test)"
                    );
                }
                eprintln!("skipped: set DATABASE_URL to run the PostgreSQL tests");
                return None;
            }
        };
        let name = format!("agentd_test_{}", uuid::Uuid::new_v4().simple());
        let mut conn = connect(&admin_url).await;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {name}")))
            .execute(&mut conn)
            .await
            .expect("create the test schema");
        let sep = if admin_url.contains('?') { '&' } else { '?' };
        let url = format!("{admin_url}{sep}options=-c%20search_path%3D{name}");
        Some(Schema {
            admin_url,
            name,
            url,
        })
    }

    /// A `[store]` section for this schema with the given lease.
    pub fn store_config(&self, lease_secs: u64) -> String {
        format!(
            "\n[store]\nkind = \"postgres\"\nurl = '{}'\nlease_secs = {lease_secs}\n",
            self.url
        )
    }

    pub async fn drop_schema(self) {
        let mut conn = connect(&self.admin_url).await;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP SCHEMA {} CASCADE",
            self.name
        )))
        .execute(&mut conn)
        .await
        .expect("drop the test schema");
    }
}

async fn connect(url: &str) -> sqlx::PgConnection {
    use sqlx::Connection;
    sqlx::PgConnection::connect(url)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to DATABASE_URL: {e}"))
}
