//! Open organisational-life bases (开放式组织生活基地) and their bookings.
//!
//! - `bases`: one row per base, unique by `code`; `kind` is `basic`, `red`, `welfare` or
//!   `science` (基础型, 红色型, 公益型, 科技型); the unit that hosts it; opening hours on working
//!   days (`opens`, `closes` as `HH:MM`, Beijing time) cut into slots of `slot_minutes`;
//!   `capacity` people per slot; `activities` the menu as a JSON array of
//!   `{"name", "minutes"}`. A booking transaction locks its base's row, so bookings of one
//!   base take turns and the places of a slot are counted under the lock.
//! - `base_bookings`: a unit's booking of one slot (`day`, `starts`, `ends`) at a base, with
//!   an activity of the menu and a head count; `state` is `booked` or `cancelled`.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Bases {
    Table,
    Id,
    Code,
    Name,
    Kind,
    HostUnitId,
    District,
    Address,
    Capacity,
    Opens,
    Closes,
    SlotMinutes,
    Activities,
    Active,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum BaseBookings {
    Table,
    Id,
    BaseId,
    UnitId,
    Day,
    Starts,
    Ends,
    Activity,
    Headcount,
    State,
    BookedBy,
    BookedAt,
    CancelledBy,
    CancelledAt,
}

#[derive(DeriveIden)]
enum PartyUnits {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Bases::Table)
                .if_not_exists()
                .col(big_pk_auto(Bases::Id))
                .col(string_len_uniq(Bases::Code, 32))
                .col(string_len(Bases::Name, 200))
                .col(string_len(Bases::Kind, 16))
                .col(big_integer(Bases::HostUnitId))
                .col(string_len(Bases::District, 64))
                .col(string_len(Bases::Address, 255))
                .col(integer(Bases::Capacity))
                .col(string_len(Bases::Opens, 5))
                .col(string_len(Bases::Closes, 5))
                .col(integer(Bases::SlotMinutes))
                .col(text(Bases::Activities))
                .col(boolean(Bases::Active).default(true))
                .col(date_time(Bases::CreatedAt))
                .col(date_time(Bases::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_bases_host_unit")
                        .from(Bases::Table, Bases::HostUnitId)
                        .to(PartyUnits::Table, PartyUnits::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(BaseBookings::Table)
                .if_not_exists()
                .col(big_pk_auto(BaseBookings::Id))
                .col(big_integer(BaseBookings::BaseId))
                .col(big_integer(BaseBookings::UnitId))
                .col(date(BaseBookings::Day))
                .col(string_len(BaseBookings::Starts, 5))
                .col(string_len(BaseBookings::Ends, 5))
                .col(string_len(BaseBookings::Activity, 100))
                .col(integer(BaseBookings::Headcount))
                .col(string_len(BaseBookings::State, 16))
                .col(string_len(BaseBookings::BookedBy, 100))
                .col(date_time(BaseBookings::BookedAt))
                .col(string_len_null(BaseBookings::CancelledBy, 100))
                .col(date_time_null(BaseBookings::CancelledAt))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_base_bookings_base")
                        .from(BaseBookings::Table, BaseBookings::BaseId)
                        .to(Bases::Table, Bases::Id),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_base_bookings_unit")
                        .from(BaseBookings::Table, BaseBookings::UnitId)
                        .to(PartyUnits::Table, PartyUnits::Id),
                )
                .to_owned(),
        )
        .await?;
        // A base's bookings of a day (the places of its slots); a unit's bookings of a day
        // (its overlaps).
        for (name, lead) in [
            ("ix_base_bookings_base_day", BaseBookings::BaseId),
            ("ix_base_bookings_unit_day", BaseBookings::UnitId),
        ] {
            m.create_index(
                Index::create()
                    .if_not_exists()
                    .name(name)
                    .table(BaseBookings::Table)
                    .col(lead)
                    .col(BaseBookings::Day)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(
            Table::drop()
                .table(BaseBookings::Table)
                .if_exists()
                .to_owned(),
        )
        .await?;
        m.drop_table(Table::drop().table(Bases::Table).if_exists().to_owned())
            .await
    }
}
