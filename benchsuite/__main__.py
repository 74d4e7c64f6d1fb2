from .cli import main

if __name__ == "__main__":  # a guard, so that importing this module (as a child process may) runs nothing
    main()
