// Package schedule provides goptim's learning-rate schedules: every one of
// torch.optim.lr_scheduler (torch 1.13), with torch's names, defaults and numbers.
// As in torch, where lr_scheduler stands apart from the optimizers, a schedule
// drives an optimizer only through optim.LRGroups (its param groups' learning rates
// and momenta), which every optimizer of package optim implements:
//
//	opt, _ := optim.NewSGD(params, optim.SGDConfig{LR: 0.1, Momentum: 0.9})
//	sched, _ := schedule.NewCosineAnnealingLR(opt, schedule.CosineAnnealingLRConfig{TMax: 100})
//	for epoch := 0; epoch < 100; epoch++ {
//		train(opt)          // opt.Step() per batch
//		_ = sched.Step()    // once per epoch, after the optimizer's steps
//	}
//
// The schedules step with the same recursive ("chainable") formulas that torch's
// scheduler.step() uses, so a training recipe gives the same learning rates to the
// last bit or within a few ulps where Go's math.Cos and math.Pow round differently
// from C's (schedule_test.go checks every schedule against torch's learning rates,
// testdata/torch/schedules.json; CyclicLR's exp_range, gamma^iteration, can drift to
// ~1e-12 relative after 1e5 iterations).
//
// Common behaviour, as in torch:
//
//   - A constructor records each group's current lr as its base lr (torch's
//     initial_lr / base_lrs) and then takes the step to epoch 0 at once, as torch's
//     constructor does (LinearLR sets lr = base*start_factor there, LambdaLR
//     base*lr_lambda(0), OneCycleLR max_lr/div_factor, CyclicLR base_lr; most others
//     leave the lr as it is).
//   - Step advances one epoch (or iteration). The chainable schedules compute the new
//     lr from the group's current lr, so changes made to the lr from outside carry on;
//     LambdaLR, CosineAnnealingWarmRestarts, CyclicLR and OneCycleLR compute it from
//     the epoch and their base lrs only, as in torch.
//   - Zero values in a config are taken literally; the ...Defaults functions give
//     torch's defaults.
//   - A schedule is not safe for concurrent use (the optimizer methods it calls are).
//   - A schedule not made by its constructor (a zero StepLR) drives no groups: its
//     Step, StepEpoch and SetState fail with an error matching
//     optim.ErrInvalidArgument, its getters return zero values, and SequentialLR and
//     ChainedScheduler refuse it as a child.
//
// One difference: torch gives every schedule built on an optimizer the same base lrs,
// the lrs the first one found (the param groups' initial_lr). Here each schedule
// records the lrs it finds, and SequentialLR and ChainedScheduler give their children
// torch's base lrs when they are built. So a schedule built after another one has
// changed the lr (after a LinearLR warm-up, say) and stepped on its own starts from
// that lr, where torch's would start from the lr before the first schedule; inside a
// ChainedScheduler the lrs agree with torch's from the first Step on. Build schedules
// you step by hand first, or combine them with SequentialLR or ChainedScheduler.
//
// # Errors
//
// Errors match the sentinels of package optim with errors.Is: optim.ErrInvalidConfig
// for a bad config (with an *optim.ConfigError naming torch's option) or an lr the
// optimizer refuses, optim.ErrCheckpoint for a State that does not fit,
// optim.ErrInvalidArgument for a schedule its constructor did not make, and this
// package's ErrFinished for a Step past the end. Their texts start with "schedule:"
// and the schedule's torch name. A refused call changes nothing: a Step that fails
// puts back every lr and momentum it had set (ChainedScheduler's children before the
// one that failed keep their step). docs/errors.md lists the exact error of each bad
// input (a test keeps it exact).
//
// # Checkpoints
//
// State and SetState save and restore a schedule's counters (State encodes to JSON);
// the learning rates themselves belong to the optimizer's checkpoint, as in torch.
package schedule
