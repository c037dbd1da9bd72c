//! Money at rest: `BIGINT` fen on every backend, summed exactly.
//!
//! `SUM(bigint)` is `NUMERIC` on PostgreSQL and `DECIMAL` on MySQL, which the drivers will
//! not read as `i64`; the sum is therefore cast back to a 64-bit integer in SQL.

use duban_core::money::Money;
use sea_orm::sea_query::{Alias, Expr, Func, Query};
use sea_orm::{ConnectionTrait, DbBackend, DbErr};

/// `CAST(COALESCE(SUM(column), 0) AS <64-bit integer>)` for the given backend.
pub fn sum_fen_expr(backend: DbBackend, column: Expr) -> Expr {
    let int64 = match backend {
        DbBackend::MySql => "SIGNED",
        _ => "BIGINT",
    };
    let summed = Func::coalesce([Func::sum(column).into(), Expr::val(0i64)]);
    Func::cast_as(summed, Alias::new(int64)).into()
}

/// Sums a fen column of a table exactly.
pub async fn sum_fen<C: ConnectionTrait>(
    conn: &C,
    table: &str,
    column: &str,
) -> Result<Money, DbErr> {
    let backend = conn.get_database_backend();
    let query = Query::select()
        .expr_as(
            sum_fen_expr(backend, Expr::col(Alias::new(column))),
            Alias::new("total"),
        )
        .from(Alias::new(table))
        .to_owned();
    let row = conn
        .query_one(&query)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("SUM returned no row".into()))?;
    let fen: i64 = row.try_get("", "total")?;
    Ok(Money::from_fen(fen))
}
