package optim

import (
	"fmt"
	"math"
)

// The kernels compute in float32 (csrc/<optimizer>_math.h): every hyperparameter, and
// every scalar the host derives from them in double (1-dampening, 1-beta, the step
// size lr/(1-beta1^t), sqrt(1-beta2^t), 1-lr*weight_decay, Adagrad's
// lr/(1+(t-1)*lr_decay), ...), is rounded to float32 once per step. A value past
// float32's largest finite value rounds to Inf there, and Inf times a zero gradient
// or param is NaN, so a config whose scalars do not fit is refused by the config's
// validate function, which runs at construction and in SetConfig, SetGroupLR and
// SetGroupMomentum (so also when a schedule sets an lr or a momentum). The checks run
// after torch's own range checks, whose errors take precedence.
//
// A value is refused as soon as it exceeds float32's largest finite value, even where
// float32 rounding would bring it back down to that value: the limit is then the number
// the error message prints.

// float32ZeroBound is 2^-150: a positive value at or below it rounds to float32 zero
// (values above it round to at least 2^-149, float32's smallest subnormal).
const float32ZeroBound = 0x1p-150

// float32MaxReason is the reason given when an option itself exceeds float32's range.
var float32MaxReason = fmt.Sprintf("must be at most %v (float32's largest finite value): the kernels compute in float32",
	float64(math.MaxFloat32))

// float32Field is one option checked against float32's range.
type float32Field struct {
	name string
	v    float64
}

// checkFloat32 refuses the first value that exceeds float32's largest finite value.
// The values have passed torch's checks (finite, mostly >= 0); the magnitude is
// compared so that a negative value is covered as well.
func checkFloat32(kind string, fields ...float32Field) error {
	for _, f := range fields {
		if math.Abs(f.v) > math.MaxFloat32 {
			return &ConfigError{Optimizer: kind, Field: f.name, Value: f.v, Reason: float32MaxReason}
		}
	}
	return nil
}

// checkFloat32Eps refuses an eps above float32's range, and a non-zero eps that
// rounds to float32 zero: the kernels add eps to a square root in float32 and divide
// by the sum, and the user asked for a denominator that cannot be 0. An eps of exactly
// 0 is taken literally, as in torch.
func checkFloat32Eps(kind, field string, eps float64) error {
	if err := checkFloat32(kind, float32Field{field, eps}); err != nil {
		return err
	}
	if eps != 0 && float32(eps) == 0 {
		return &ConfigError{Optimizer: kind, Field: field, Value: eps,
			Reason: fmt.Sprintf("must be 0 or greater than %v (2^-150): smaller values round to 0 in float32, "+
				"where the kernels divide by eps", float32ZeroBound)}
	}
	return nil
}

// checkFloat32Derived refuses a scalar the host derives from several options when it
// exceeds float32's largest finite value; field names the expression (e.g.
// "lr*weight_decay") and why says where the kernels use it.
func checkFloat32Derived(kind, field string, v float64, why string) error {
	if math.Abs(v) > math.MaxFloat32 {
		return &ConfigError{Optimizer: kind, Field: field, Value: v,
			Reason: fmt.Sprintf("must be at most %v (float32's largest finite value): %s",
				float64(math.MaxFloat32), why)}
	}
	return nil
}
