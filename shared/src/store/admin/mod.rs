//! The admin area's reads and writes, one module per thing an admin acts on: `users` (block and
//! unblock, counts, the users list), `orders` (the orders list), `reviews` (the reviews list,
//! hide and unhide), `payments` (the charges and refunds list) and `lists` (what the lists
//! share: month partitions, cursor scopes, the backfill of their keys). The gig decisions write gig items, so they live with the gig key
//! layouts in `store::gigs` (`store/gigs/admin.rs`).

pub mod lists;
pub mod orders;
pub mod payments;
pub mod reviews;
pub mod users;
