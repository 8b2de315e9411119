package testenv

import "github.com/targetsync/targetsync/internal/motoserver"

// Moto is a running moto_server.
type Moto = motoserver.Server

// StartMoto starts moto_server on a free loopback port and waits until it answers.
func StartMoto() (*Moto, error) { return motoserver.Start() }

// SetAWSEnv points the AWS SDK's standard environment at endpoint with test credentials.
// setenv is t.Setenv in tests.
func SetAWSEnv(setenv func(k, v string), endpoint string) { motoserver.SetAWSEnv(setenv, endpoint) }

// FreeAddr returns a free 127.0.0.1 address for a server the test starts.
func FreeAddr() (string, error) { return motoserver.FreeAddr() }
