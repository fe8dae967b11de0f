// What the caller may do with a task, as the tasks service decides it (services/tasks/service.py);
// the screen offers only these, and shows the service's reason if it refuses anyway.
import type { Task, User } from '../../api/types';
import { TASK_STATUSES, type TaskStatus } from '../clients/records';

export const CLOSED: readonly TaskStatus[] = ['done', 'cancelled'];

export function isClosed(task: Pick<Task, 'status'>): boolean {
  return CLOSED.includes(task.status);
}

/** The department's Manager or an Admin, on a task that is not closed. */
export function canReassign(user: Pick<User, 'role' | 'department_id'>, task: Pick<Task, 'status' | 'department_id'>): boolean {
  if (isClosed(task)) return false;
  if (user.role === 'Admin') return true;
  return user.role === 'Manager' && !!task.department_id && task.department_id === user.department_id;
}

/** Managers and Admins move deadlines (of open work). */
export function canMoveDeadline(user: Pick<User, 'role'>, task: Pick<Task, 'status'>): boolean {
  return user.role !== 'Employee' && !isClosed(task);
}

/** Statuses the task may move to: any while open; a closed task can only be reopened. */
export function allowedStatuses(task: Pick<Task, 'status'>): TaskStatus[] {
  return isClosed(task) ? [task.status, 'open'] : [...TASK_STATUSES];
}
