// Package config owns targetsync's settings: the flags for the common one-binding case, the
// YAML file for several bindings, defaults, and validation.
//
// Validation is strict and total: a bad value ends in one error that names the flag or field and
// says what is wrong, before anything talks to the cluster or to AWS.
package config
