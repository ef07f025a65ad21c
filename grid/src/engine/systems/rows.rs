//! Row access for the per-record paths: query states made once a tick, and rows found by number.

use std::cell::UnsafeCell;

use bevy_ecs::archetype::ArchetypeGeneration;
use bevy_ecs::component::{Component, ComponentId, Mutable};
use bevy_ecs::prelude::{Entity, Mut, Query, QueryState, World};
use bevy_ecs::storage::TableId;
use bevy_ecs::world::WorldId;

use crate::engine::prefetch::{prefetch, prefetch_address, prefetch_whole};
use crate::engine::state::{Defect, RoadCell, Section, defect_number};

/// The rows fusion and passes read and write, as query states made once a tick: `World::get_mut`
/// looks the component's id up by type on every call, a query state once.
pub(crate) struct Rows {
    defects: RowsOf<Defect>,
    by_id: ById<Defect>,
    cells: RowsOf<RoadCell>,
    sections: RowsOf<Section>,
}

impl Rows {
    pub fn new(world: &mut World) -> Rows {
        Rows {
            defects: RowsOf::new(world),
            by_id: ById::new(world),
            cells: RowsOf::new(world),
            sections: RowsOf::new(world),
        }
    }

    /// A defect's row, to write, by its id and entity: where bevy keeps it, found from the id
    /// (`ById`), or through the query if it is not there.
    pub fn defect_by_id<'w>(
        &mut self,
        world: &'w mut World,
        id: u64,
        entity: Entity,
    ) -> Option<&'w mut Defect> {
        let row = defect_number(id).map_or(usize::MAX, |number| number as usize);
        self.by_id
            .get_mut_or_query(&mut self.defects, world, row, entity)
    }

    /// The defects' rows as they are now, to prefetch and read by number (`defect_number`)
    /// without finding the table again for each: the table stays where it is while the world is
    /// borrowed.
    pub fn defects_now<'w>(&self, world: &'w World) -> Option<RowsNow<'w, Defect>> {
        self.by_id.now(world)
    }

    /// A cell's row, to write.
    pub fn cell<'w>(&mut self, world: &'w mut World, entity: Entity) -> Option<Mut<'w, RoadCell>> {
        self.cells.get_mut(world, entity)
    }

    /// The cells' rows, to read.
    pub fn cells<'w, 's>(&'s mut self, world: &'w World) -> Query<'w, 's, &'static RoadCell> {
        self.cells.refresh(world);
        self.cells.state.query_manual(world)
    }

    /// A section's row, to write.
    pub fn section<'w>(
        &mut self,
        world: &'w mut World,
        entity: Entity,
    ) -> Option<Mut<'w, Section>> {
        self.sections.get_mut(world, entity)
    }
}

/// A query state for writing one component, and the archetype generation it has seen.
///
/// `QueryState::get_mut` brings the state up to date with the world's archetypes on every call:
/// some forty instructions, several times a record, although archetypes are added only when an
/// entity first gets a new set of components. This checks the world's generation instead.
pub(crate) struct RowsOf<T: Component<Mutability = Mutable>> {
    state: QueryState<&'static mut T>,
    seen: ArchetypeGeneration,
}

impl<T: Component<Mutability = Mutable>> RowsOf<T> {
    pub fn new(world: &mut World) -> RowsOf<T> {
        let state = world.query();
        RowsOf {
            state,
            seen: world.archetypes().generation(),
        }
    }

    /// Brings the query up to date with the world's archetypes, if any were added.
    pub fn refresh(&mut self, world: &World) {
        let now = world.archetypes().generation();
        if now != self.seen {
            self.state.update_archetypes(world);
            self.seen = now;
        }
    }

    /// A row, to write.
    pub fn get_mut<'w>(&mut self, world: &'w mut World, entity: Entity) -> Option<Mut<'w, T>> {
        // A comparison of two ids: it panics on another world rather than reading its storage.
        self.state.validate_world(world.id());
        self.refresh(world);
        let world = world.as_unsafe_world_cell();
        // SAFETY: the state belongs to this world (checked above) and has seen its archetypes
        // (`refresh`); the world is borrowed mutably for as long as the row lives, so nothing
        // else reads or writes the component meanwhile.
        let query = unsafe { self.state.query_unchecked_manual(world) };
        query.get_inner(entity).ok()
    }
}

/// Rows of a component found from their number: the order in which the engine spawned them.
///
/// The engine spawns defects and devices each with its one component and never despawns them nor
/// adds or removes components, so bevy keeps each kind in one table in order of creation: the
/// defect of id `n` is at row `n − 1` (as in `Directory::defects`), a device at the row of its
/// number (`Directory::devices`). Finding the row from the number is arithmetic. A query must
/// first read where the entity lives from bevy's table of all entities, which at a city's scale is
/// seldom in the cache: one more wait on memory, at the head of the chain. A look-up checks that
/// the table holds the entity at that row, so a row stored elsewhere (were that assumption ever
/// to break) goes through the query instead.
pub(crate) struct ById<T: Component> {
    world: WorldId,
    component: ComponentId,
    /// The component's table, learnt from the first entity looked up.
    table: Option<TableId>,
    kind: std::marker::PhantomData<T>,
}

impl<T: Component> ById<T> {
    pub fn new(world: &mut World) -> ById<T> {
        ById {
            world: world.id(),
            component: world.register_component::<T>(),
            table: None,
            kind: std::marker::PhantomData,
        }
    }

    /// Where the row of the entity with a number is, if it is the entity at that row of the
    /// component's table.
    fn find(&mut self, world: &World, row: usize, entity: Entity) -> Option<*mut T> {
        if self.table.is_none() {
            self.table = world
                .entities()
                .get_spawned(entity)
                .ok()
                .map(|location| location.table_id);
        }
        let (column, entities) = self.column(world)?;
        if entities.get(row) != Some(&entity) {
            return None;
        }
        Some(column.get(row)?.get())
    }

    /// The row of the entity with a number, to write: where bevy keeps it (`find`), or through
    /// the query if it is not there.
    pub fn get_mut_or_query<'w>(
        &mut self,
        query: &mut RowsOf<T>,
        world: &'w mut World,
        row: usize,
        entity: Entity,
    ) -> Option<&'w mut T>
    where
        T: Component<Mutability = Mutable>,
    {
        match self.find(world, row, entity) {
            // SAFETY: the pointer is to a row of this world's storage, found just now; the world is
            // borrowed mutably for as long as the row lives, so nothing else reads or writes it,
            // nor moves it, meanwhile.
            Some(row) => Some(unsafe { &mut *row }),
            None => query.get_mut(world, entity).map(Mut::into_inner),
        }
    }

    /// The rows of the component's table as they are now (`RowsNow`).
    pub fn now<'w>(&self, world: &'w World) -> Option<RowsNow<'w, T>> {
        let (column, entities) = self.column(world)?;
        Some(RowsNow { column, entities })
    }

    /// The component's column and the entities of its table, at the same rows.
    fn column<'w>(&self, world: &'w World) -> Option<(&'w [UnsafeCell<T>], &'w [Entity])> {
        assert_eq!(world.id(), self.world, "rows of another world");
        let table = world.storages().tables.get(self.table?)?;
        // SAFETY: `component` is the id of `T` in this world (checked above), so the column holds
        // `T`s, and `get_data_slice_for` takes the slice's length from the table.
        let column = unsafe { table.get_data_slice_for::<T>(self.component)? };
        Some((column, table.entities()))
    }
}

/// The rows of a component's table at one moment (`ById::now`): while the world is borrowed,
/// nothing is spawned and the table does not move, so its column is found once for many rows.
pub(crate) struct RowsNow<'w, T> {
    column: &'w [UnsafeCell<T>],
    entities: &'w [Entity],
}

impl<'w, T> RowsNow<'w, T> {
    /// Starts loading the row at an index (every line of it, or only the first) and its entry in
    /// the table's list of entities.
    pub fn prefetch(&self, row: usize, whole: bool) {
        if let (Some(cell), Some(entity)) = (self.column.get(row), self.entities.get(row)) {
            if whole {
                prefetch_whole(cell);
            } else {
                prefetch(cell);
            }
            prefetch(entity);
        }
    }

    /// The row at an index, whichever entity it is, to read.
    fn read(&self, row: usize) -> Option<&'w T> {
        // SAFETY: the world is borrowed, shared, for as long as the row lives (`ById::now`):
        // nothing writes to its components meanwhile.
        Some(unsafe { &*self.column.get(row)?.get() })
    }
}

impl RowsNow<'_, Defect> {
    /// Starts loading the row of the defect with a number (`defect_number`), for `defect_by_id`
    /// soon after.
    pub fn prefetch_defect(&self, number: u32) {
        self.prefetch(number as usize, false);
    }

    /// Starts loading the first pieces of evidence of the defect with a number. Its row must be
    /// loaded by then (`prefetch_defect`) for this not to wait.
    pub fn prefetch_evidence(&self, number: u32) {
        if let Some(defect) = self.read(number as usize) {
            prefetch_address(defect.evidence.as_ptr().cast());
        }
    }

    /// Starts loading the place where the defect with a number will keep its next evidence. Its
    /// row must be loaded by then (`prefetch_defect`) for this not to wait.
    pub fn prefetch_evidence_end(&self, number: u32) {
        if let Some(defect) = self.read(number as usize) {
            let evidence = &defect.evidence;
            // Just past the last piece: inside the list's room unless it is full, when the push
            // will move it (and a prefetch of any address is harmless).
            prefetch_address(evidence.as_ptr().wrapping_add(evidence.len()).cast());
        }
    }
}
