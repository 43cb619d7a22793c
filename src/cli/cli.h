/* The `stratus` command's subcommands. Each lives in its own cmd_*.c file and
 * takes the arguments after the subcommand name (argv[0] is the subcommand). */
#ifndef STRATUS_CLI_H
#define STRATUS_CLI_H

int cmd_manager_main(int argc, char **argv);
int cmd_orchestrator_main(int argc, char **argv);
int cmd_spectest_main(int argc, char **argv);
int cmd_exec_main(int argc, char **argv);
int cmd_compile_main(int argc, char **argv);
int cmd_run_main(int argc, char **argv);
int cmd_stop_main(int argc, char **argv);
int cmd_list_main(int argc, char **argv);
int cmd_status_main(int argc, char **argv);
int cmd_logs_main(int argc, char **argv);
int cmd_files_main(int argc, char **argv);
int cmd_up_main(int argc, char **argv);
int cmd_down_main(int argc, char **argv);

#endif
