package optim

import (
	"fmt"
	"reflect"
	"testing"
)

// Every exported method of every exported type, called on a zero value (as a user
// who forgot the constructor would) with zero arguments: an error or a zero result,
// never a panic.
func TestZeroValuesDoNotPanic(t *testing.T) {
	values := []any{
		&Tensor{}, &Param{}, &Arena{}, &GradScaler{},
		&SGD{}, &Adam{}, &Adagrad{}, &RMSprop{},
	}
	for _, v := range values {
		rv := reflect.ValueOf(v)
		for m := 0; m < rv.NumMethod(); m++ {
			name := fmt.Sprintf("%T.%s", v, rv.Type().Method(m).Name)
			meth := rv.Method(m)
			args := make([]reflect.Value, meth.Type().NumIn())
			for i := range args {
				args[i] = reflect.Zero(meth.Type().In(i))
			}
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Errorf("%s on a zero value panics: %v", name, r)
					}
				}()
				meth.Call(args)
			}()
		}
	}
}
