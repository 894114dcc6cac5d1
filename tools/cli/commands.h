// The `triage` subcommands. Each lives in its own cmd_<name>.cpp and is listed once in the table in
// main.cpp. argv[0] is the subcommand's name, argv[1..] its arguments. Return value: the exit status
// (0 success, 1 failure with a one-line reason on stderr, 2 usage error).
#pragma once

namespace triage::cli {

int cmd_convert(int argc, char** argv);
int cmd_inspect(int argc, char** argv);
int cmd_run(int argc, char** argv);
int cmd_calibrate(int argc, char** argv);
int cmd_adapt(int argc, char** argv);
int cmd_eval(int argc, char** argv);
int cmd_bench(int argc, char** argv);
int cmd_klarf(int argc, char** argv);
int cmd_keygen(int argc, char** argv);
int cmd_sign(int argc, char** argv);

}  // namespace triage::cli
