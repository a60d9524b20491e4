//! Ratings: the stars a published review gives, the totals they add up to (a gig's, a seller's,
//! a buyer's), and how an average is shown. Pure arithmetic on counts and sums, shared by gigs,
//! users and reviews.

use serde::{Deserialize, Serialize};

/// An average of 1..5 stars, rounded to two decimals, with how many reviews it rests on.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Rating {
    pub average: Option<f64>,
    pub count: u64,
}

impl Rating {
    pub fn from_sum(sum: u64, count: u64) -> Self {
        let average = (count > 0).then(|| rating_centi(sum, count) as f64 / 100.0);
        Self { average, count }
    }
}

/// The average of `count` ratings summing to `sum`, in hundredths of a star rounded half up
/// (0 while unrated): the one way an average is computed, for display and for sort keys alike.
pub fn rating_centi(sum: u64, count: u64) -> u64 {
    (sum * 100 + count / 2).checked_div(count).unwrap_or(0)
}

/// The sub-ratings only a client's review may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SubRatings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub communication: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_described: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub would_recommend: Option<bool>,
}

impl SubRatings {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// The exact totals of the published reviews of one thing (a gig, a seller, a buyer): counts and
/// sums only, so every publication is an increment and concurrent ones add up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct RatingTotals {
    pub count: u64,
    pub sum: u64,
    /// How many reviews gave 1, 2, 3, 4, 5 stars.
    pub stars: [u64; 5],
    pub communication_sum: u64,
    pub communication_count: u64,
    pub as_described_sum: u64,
    pub as_described_count: u64,
    pub recommend_yes: u64,
    pub recommend_count: u64,
}

impl RatingTotals {
    /// These totals with a review of `stars` and `sub_ratings` counted.
    pub fn counting(mut self, stars: u8, sub_ratings: &SubRatings) -> Self {
        self.count += 1;
        self.sum += u64::from(stars);
        self.stars[usize::from(stars.clamp(1, 5)) - 1] += 1;
        if let Some(value) = sub_ratings.communication {
            self.communication_sum += u64::from(value);
            self.communication_count += 1;
        }
        if let Some(value) = sub_ratings.as_described {
            self.as_described_sum += u64::from(value);
            self.as_described_count += 1;
        }
        if let Some(yes) = sub_ratings.would_recommend {
            self.recommend_yes += u64::from(yes);
            self.recommend_count += 1;
        }
        self
    }

    pub fn summary(&self) -> RatingSummary {
        let average =
            |sum: u64, count: u64| (count > 0).then(|| rating_centi(sum, count) as f64 / 100.0);
        RatingSummary {
            average: average(self.sum, self.count),
            count: self.count,
            histogram: Histogram {
                one: self.stars[0],
                two: self.stars[1],
                three: self.stars[2],
                four: self.stars[3],
                five: self.stars[4],
            },
            communication: average(self.communication_sum, self.communication_count),
            as_described: average(self.as_described_sum, self.as_described_count),
            would_recommend_percent: (self.recommend_count > 0).then(|| {
                (self.recommend_yes * 100 + self.recommend_count / 2) / self.recommend_count
            }),
        }
    }
}

/// A user's totals as a seller (reviews by clients) and as a buyer (by freelancers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UserRatings {
    pub seller: RatingTotals,
    pub buyer: RatingTotals,
}

/// Stars -> number of reviews.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Histogram {
    #[serde(rename = "1")]
    pub one: u64,
    #[serde(rename = "2")]
    pub two: u64,
    #[serde(rename = "3")]
    pub three: u64,
    #[serde(rename = "4")]
    pub four: u64,
    #[serde(rename = "5")]
    pub five: u64,
}

/// A rating as the API shows it: averages rounded to two decimals (`null` while unrated).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RatingSummary {
    pub average: Option<f64>,
    pub count: u64,
    pub histogram: Histogram,
    pub communication: Option<f64>,
    pub as_described: Option<f64>,
    pub would_recommend_percent: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rating_rounds_to_two_decimals() {
        assert_eq!(Rating::from_sum(14, 3).average, Some(4.67));
        assert_eq!(Rating::from_sum(0, 0).average, None);
    }

    #[test]
    fn totals_add_up_and_summarise() {
        let five = SubRatings {
            communication: Some(4),
            as_described: None,
            would_recommend: Some(true),
        };
        let two = SubRatings {
            would_recommend: Some(false),
            ..five
        };
        let totals = RatingTotals::default().counting(5, &five).counting(2, &two);
        assert_eq!(totals.count, 2);
        assert_eq!(totals.sum, 7);
        assert_eq!(totals.stars, [0, 1, 0, 0, 1]);
        let summary = totals.summary();
        assert_eq!(summary.average, Some(3.5));
        assert_eq!(summary.communication, Some(4.0));
        assert_eq!(summary.as_described, None);
        assert_eq!(summary.would_recommend_percent, Some(50));
    }
}
