//! Money: amounts in a currency's minor unit as the payment processor counts them, and the one
//! split of an order's price into the client's service fee, the platform's commission and the
//! freelancer's net, each rounded once so the parts add up to the unit.
//!
//! Minor units follow Stripe's table, not ISO 4217's alone: an amount is sent to Stripe as it is
//! stored, so the two must agree. Stripe counts zero-decimal currencies (JPY, KRW, ...) in whole
//! units, three-decimal ones (KWD, ...) in thousandths whose last digit must be 0, and ISK in
//! hundredths that must be whole krónur. A hand-kept table, because the crates that carry ISO
//! exponents (`iso_currency`, `rusty-money`) give ISK 0 where Stripe wants 2, and none carries
//! the charge granularity.

use std::fmt;

/// Currencies Stripe charges in whole units (its "zero-decimal currencies").
const ZERO_DECIMAL: [&str; 16] = [
    "BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV",
    "XAF", "XOF", "XPF",
];
/// Currencies Stripe charges in thousandths, rounded to tens (its "three-decimal currencies").
const THREE_DECIMAL: [&str; 5] = ["BHD", "JOD", "KWD", "OMR", "TND"];
/// Stripe takes ISK in hundredths, but only whole krónur.
const WHOLE_HUNDREDTHS: [&str; 1] = ["ISK"];

/// An ISO 4217 code (upper case) with the way Stripe counts its minor unit.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Currency(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an ISO 4217 currency code")]
pub struct UnknownCurrency(pub String);

impl Currency {
    /// Parses a code in any case (`eur`, as Stripe writes it, or `EUR`).
    pub fn parse(code: &str) -> Result<Self, UnknownCurrency> {
        let upper = code.trim().to_ascii_uppercase();
        if super::gig::is_iso_4217(&upper) {
            Ok(Self(upper))
        } else {
            Err(UnknownCurrency(code.to_owned()))
        }
    }

    pub fn code(&self) -> &str {
        &self.0
    }

    /// How Stripe's API writes the code.
    pub fn stripe_code(&self) -> String {
        self.0.to_ascii_lowercase()
    }

    /// Decimal places of one minor unit: 0 for JPY, 2 for EUR, 3 for KWD.
    pub fn exponent(&self) -> u32 {
        if ZERO_DECIMAL.contains(&self.code()) {
            0
        } else if THREE_DECIMAL.contains(&self.code()) {
            3
        } else {
            2
        }
    }

    /// The smallest step of a chargeable amount, in minor units: 10 for three-decimal
    /// currencies, 100 for ISK, 1 otherwise.
    pub fn granularity(&self) -> u64 {
        if THREE_DECIMAL.contains(&self.code()) {
            10
        } else if WHOLE_HUNDREDTHS.contains(&self.code()) {
            100
        } else {
            1
        }
    }

    /// Minor units in one major unit (100 for EUR, 1 for JPY).
    pub fn minor_per_major(&self) -> u64 {
        10u64.pow(self.exponent())
    }

    /// `hundredths` of a major unit in minor units, rounded up to an amount Stripe accepts
    /// (200: 2.00 EUR is 200, 2 JPY is 2): how configured floors are written for every currency.
    pub fn minor_from_hundredths(&self, hundredths: u64) -> u64 {
        let minor = (u128::from(hundredths) * u128::from(self.minor_per_major())).div_ceil(100);
        let step = u128::from(self.granularity());
        u64::try_from(minor.div_ceil(step) * step).unwrap_or(u64::MAX)
    }

    /// Whether Stripe accepts `amount` minor units of this currency as a charge amount.
    pub fn is_chargeable(&self, amount: u64) -> bool {
        amount.is_multiple_of(self.granularity())
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A fraction in basis points (1/10,000): 550 is 5.5 %.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BasisPoints(pub u32);

impl BasisPoints {
    /// `amount` times this rate, rounded half up to the currency's granularity.
    fn of(self, amount: u64, granularity: u64) -> u64 {
        let exact = u128::from(amount) * u128::from(self.0);
        let step = 10_000 * u128::from(granularity);
        let steps = (exact + step / 2) / step;
        u64::try_from(steps * u128::from(granularity)).unwrap_or(u64::MAX)
    }
}

/// What the platform takes: a service fee the client pays on top of the price (with a floor in
/// major units, so a tiny order still covers the card fee), and a commission the freelancer
/// gives up from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeeSchedule {
    pub service_fee: BasisPoints,
    /// The least service fee, in hundredths of a major unit of the order's currency: 200 is
    /// 2.00 EUR or 2 JPY (rounded up to the currency's minor unit and granularity).
    pub service_fee_minimum_hundredths: u64,
    pub commission: BasisPoints,
}

/// An order's money, fixed once at placement: what the client pays and how it is divided.
/// `client_total == price + service_fee` and `price == commission + freelancer_net`, exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceSplit {
    pub currency: Currency,
    pub price: u64,
    pub service_fee: u64,
    pub client_total: u64,
    pub commission: u64,
    pub freelancer_net: u64,
}

impl PriceSplit {
    /// The platform's whole take: the client's service fee and the freelancer's commission.
    pub fn platform_fees(&self) -> u64 {
        self.service_fee + self.commission
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SplitError {
    #[error("{amount} is not a whole step of {step} minor units of {currency}")]
    NotChargeable {
        currency: String,
        amount: u64,
        step: u64,
    },
    #[error("the amount overflows")]
    Overflow,
}

impl Default for FeeSchedule {
    /// 5.5 % service fee (at least 2.00 of the currency) and 20 % commission: the defaults of
    /// `SERVICE_FEE_BPS`, `SERVICE_FEE_MINIMUM_HUNDREDTHS` and `COMMISSION_BPS`.
    fn default() -> Self {
        Self {
            service_fee: BasisPoints(550),
            service_fee_minimum_hundredths: 200,
            commission: BasisPoints(2_000),
        }
    }
}

impl FeeSchedule {
    /// Splits `price` (minor units of `currency`). Each part is rounded once, half up, to the
    /// currency's granularity; the freelancer's net is what the commission leaves, so nothing is
    /// lost or made up by rounding.
    pub fn split(&self, currency: &Currency, price: u64) -> Result<PriceSplit, SplitError> {
        let step = currency.granularity();
        if !currency.is_chargeable(price) {
            return Err(SplitError::NotChargeable {
                currency: currency.to_string(),
                amount: price,
                step,
            });
        }
        let minimum = self.minimum_service_fee(currency);
        let service_fee = self.service_fee.of(price, step).max(minimum);
        let commission = self.commission.of(price, step).min(price);
        let client_total = price.checked_add(service_fee).ok_or(SplitError::Overflow)?;
        Ok(PriceSplit {
            currency: currency.clone(),
            price,
            service_fee,
            client_total,
            commission,
            freelancer_net: price - commission,
        })
    }

    /// The floor in the currency's minor units, rounded up to its granularity.
    fn minimum_service_fee(&self, currency: &Currency) -> u64 {
        currency.minor_from_hundredths(self.service_fee_minimum_hundredths)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule() -> FeeSchedule {
        FeeSchedule {
            service_fee: BasisPoints(550),
            service_fee_minimum_hundredths: 200,
            commission: BasisPoints(2_000),
        }
    }

    fn currency(code: &str) -> Currency {
        Currency::parse(code).unwrap()
    }

    #[test]
    fn exponents_follow_stripe() {
        assert_eq!(currency("eur").exponent(), 2);
        assert_eq!(currency("JPY").exponent(), 0);
        assert_eq!(currency("KWD").exponent(), 3);
        assert_eq!(currency("ISK").exponent(), 2);
        assert_eq!(currency("ISK").granularity(), 100);
        assert_eq!(currency("KWD").granularity(), 10);
        assert_eq!(currency("EUR").stripe_code(), "eur");
        assert!(Currency::parse("XYZ").is_err());
    }

    #[test]
    fn a_euro_price_splits_to_the_cent() {
        let split = schedule().split(&currency("EUR"), 4_999).unwrap();
        // 5.5 % of 49.99 is 2.749..., half up to 2.75; 20 % is 9.998 -> 10.00.
        assert_eq!(split.service_fee, 275);
        assert_eq!(split.client_total, 5_274);
        assert_eq!(split.commission, 1_000);
        assert_eq!(split.freelancer_net, 3_999);
        assert_eq!(split.platform_fees(), 1_275);
    }

    #[test]
    fn the_service_fee_has_a_floor() {
        let split = schedule().split(&currency("EUR"), 500).unwrap();
        assert_eq!(split.service_fee, 200);
        assert_eq!(split.client_total, 700);
    }

    #[test]
    fn a_zero_decimal_price_is_not_charged_a_hundredfold() {
        // 5,000 yen: the fee is 275 yen (5.5 %), not 27,500, and the floor is 2 yen, not 200.
        let split = schedule().split(&currency("JPY"), 5_000).unwrap();
        assert_eq!(split.service_fee, 275);
        assert_eq!(split.client_total, 5_275);
        assert_eq!(split.commission, 1_000);
        assert_eq!(split.freelancer_net, 4_000);
        let tiny = schedule().split(&currency("JPY"), 10).unwrap();
        assert_eq!(tiny.service_fee, 2);
    }

    #[test]
    fn three_decimal_and_isk_amounts_stay_chargeable() {
        let kwd = schedule().split(&currency("KWD"), 12_340).unwrap();
        assert!(currency("KWD").is_chargeable(kwd.client_total));
        assert!(currency("KWD").is_chargeable(kwd.commission));
        assert!(matches!(
            schedule().split(&currency("KWD"), 12_345),
            Err(SplitError::NotChargeable { step: 10, .. })
        ));
        let isk = schedule().split(&currency("ISK"), 123_400).unwrap();
        assert_eq!(isk.service_fee % 100, 0);
        assert_eq!(isk.commission % 100, 0);
    }

    #[test]
    fn the_parts_always_add_up() {
        for code in ["EUR", "JPY", "KWD", "ISK", "USD"] {
            let currency = currency(code);
            let step = currency.granularity();
            for price in (0..5_000u64).map(|n| n * 37 * step) {
                let split = schedule().split(&currency, price).unwrap();
                assert_eq!(
                    split.client_total,
                    split.price + split.service_fee,
                    "{split:?}"
                );
                assert_eq!(
                    split.price,
                    split.commission + split.freelancer_net,
                    "{split:?}"
                );
                assert!(currency.is_chargeable(split.client_total), "{split:?}");
            }
        }
    }
}
