//! Profile use cases: the caller's own profile and other users' public profiles.

use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::user::{Caller, PrivateProfile, ProfilePatch, PublicProfile};
use crate::error::{ApiError, ApiResult};
use crate::store::Store;

pub async fn my_profile(store: &Store, caller: Caller) -> ApiResult<PrivateProfile> {
    // With the seller and buyer ratings the reviews keep on the profile item (one read).
    let (user, ratings) = store
        .user_with_ratings(caller.id)
        .await?
        .ok_or(ApiError::NotFound("user"))?;
    Ok(PrivateProfile::from(&user).with_ratings(&ratings))
}

/// Applies the validated patch; an empty patch changes nothing and answers the profile.
pub async fn update_my_profile(
    store: &Store,
    caller: Caller,
    patch: ProfilePatch,
    now: OffsetDateTime,
) -> ApiResult<PrivateProfile> {
    let changes = patch.validate()?;
    if changes.is_empty() {
        return my_profile(store, caller).await;
    }
    let user = store.update_profile(caller, &changes, now).await?;
    Ok(PrivateProfile::from(&user))
}

/// Public: anyone may look. Blocked accounts are hidden like unknown ones.
pub async fn public_profile(store: &Store, user_id: Uuid) -> ApiResult<PublicProfile> {
    let (user, ratings) = store
        .user_with_ratings(user_id)
        .await?
        .filter(|(user, _)| !user.is_blocked())
        .ok_or(ApiError::NotFound("user"))?;
    Ok(PublicProfile::from(&user).with_ratings(&ratings))
}
