import { cachedProjectLoader, type ProjectTask, runProjectTask } from './project-tasks.js';
import { serveWorkerTasks } from './worker-pool.js';

/**
 * The entry of a project worker thread (see project-workers.ts): loads projects from Git and
 * computes their views, off the server's request thread. It keeps a few loaded projects, since a
 * workspace's views are asked for again and again at the same commit.
 */
const load = cachedProjectLoader(8);
serveWorkerTasks((task: ProjectTask) => runProjectTask(task, load));
