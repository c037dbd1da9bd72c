use duban_core::money::Money;
use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Alias, Expr, Query, Table};
use sea_orm_migration::schema::big_pk_auto;

backend_tests! {
    async fn migrations_go_up_and_down_cleanly(db) {
        let store = db.store().await;
        let all = store.migrations().await.unwrap();
        assert!(!all.is_empty() && all.iter().all(|m| m.applied), "{all:?}");
        assert_eq!(store.pending_migrations().await.unwrap(), Vec::<String>::new());
        assert_eq!(store.register_counts().await.unwrap(), (0, 0, 0));

        store.migrate_down(all.len() as u32).await.unwrap();
        assert_eq!(store.pending_migrations().await.unwrap().len(), all.len());
        assert_eq!(store.schema_version().await.unwrap(), None);
        assert!(store.register_counts().await.is_err(), "tables must be gone after down");

        store.migrate_up(None).await.unwrap();
        assert_eq!(store.schema_version().await.unwrap(), all.last().map(|m| m.name.clone()));
        // Up again is a no-op.
        store.migrate_up(None).await.unwrap();
        assert_eq!(store.register_counts().await.unwrap(), (0, 0, 0));
    }

    async fn ten_thousand_dimes_sum_to_exactly_one_thousand_yuan(db) {
        let conn = db.connect().await;
        let table = Alias::new("money_probe");
        conn.execute(
            &Table::create()
                .table(table.clone())
                .col(big_pk_auto(Alias::new("id")))
                .col(migration::money(Alias::new("amount")))
                .to_owned(),
        )
        .await
        .unwrap();
        let dime = Money::from_fen(10);
        for _ in 0..10 {
            let mut insert = Query::insert();
            insert.into_table(table.clone()).columns([Alias::new("amount")]);
            for _ in 0..1000 {
                insert.values_panic([Expr::val(dime.fen())]);
            }
            conn.execute(&insert).await.unwrap();
        }
        let total = duban_store::money::sum_fen(&conn, "money_probe", "amount").await.unwrap();
        assert_eq!(total, Money::yuan(1000));
        assert_eq!(total.to_string(), "1000.00");

        // The largest amount survives the round trip to the fen.
        conn.execute(&Query::delete().from_table(table.clone()).to_owned()).await.unwrap();
        let big = Money::from_fen(i64::MAX);
        conn.execute(
            &Query::insert()
                .into_table(table.clone())
                .columns([Alias::new("amount")])
                .values_panic([Expr::val(big.fen())])
                .to_owned(),
        )
        .await
        .unwrap();
        let back = duban_store::money::sum_fen(&conn, "money_probe", "amount").await.unwrap();
        assert_eq!(back, big);
    }
}

backend_tests! {
    async fn a_deadlock_is_a_write_conflict_and_a_duplicate_is_not(db) {
        use duban_store::StoreError;
        use sea_orm::TransactionTrait;
        if db.kind == crate::support::Kind::Sqlite {
            // One writer at a time: SQLite queues writers instead of deadlocking them.
            return;
        }
        let conn = db.connect().await;
        conn.execute_unprepared("CREATE TABLE lock_probe (id INT PRIMARY KEY, n INT NOT NULL)").await.unwrap();
        conn.execute_unprepared("INSERT INTO lock_probe (id, n) VALUES (1, 0), (2, 0)").await.unwrap();
        let bump = |id: i32| format!("UPDATE lock_probe SET n = n + 1 WHERE id = {id}");

        let a = conn.begin().await.unwrap();
        let b = conn.begin().await.unwrap();
        a.execute_unprepared(&bump(1)).await.unwrap();
        b.execute_unprepared(&bump(2)).await.unwrap();
        // a waits for b's row; b then asks for a's row: one of them is chosen as the victim.
        let second_of_a = {
            let sql = bump(2);
            tokio::spawn(async move {
                let r = a.execute_unprepared(&sql).await;
                (a, r)
            })
        };
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let rb = b.execute_unprepared(&bump(1)).await;
        let (a, ra) = second_of_a.await.unwrap();
        let (winner, victim) = match (ra, rb) {
            (Ok(_), Err(e)) => (a, e),
            (Err(e), Ok(_)) => (b, e),
            other => panic!("expected exactly one deadlock victim: {other:?}"),
        };
        let victim = StoreError::from(victim);
        assert!(victim.is_write_conflict(), "{victim:?}");
        winner.commit().await.unwrap();

        let dup = conn.execute_unprepared("INSERT INTO lock_probe (id, n) VALUES (1, 0)").await.unwrap_err();
        assert!(!StoreError::from(dup).is_write_conflict());
    }
}
